"""The ``evalbook`` command: one Typer app, one module per command.

Exit codes: 0 ok; 1 usage, config or input error; 100 the run finished but did not pass
its threshold (or cases failed where that is the gate); 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from evalbook.cli import db, export, quickstart, run, runs, schema
from evalbook.cli.console import err_console
from evalbook.errors import EvalbookError, RuntimeFailure

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FAILED = 100
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="evalbook",
    help="Run LLM evaluation suites, keep every run, compare and gate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run_command)
app.command("quickstart")(quickstart.quickstart_command)
app.command("export")(export.export_command)
app.add_typer(runs.app, name="runs")
app.add_typer(schema.app, name="schema")
app.add_typer(db.app, name="db")


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        from evalbook._version import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one clear line and exit 1, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except EvalbookError as exc:
        kind = "error" if isinstance(exc, RuntimeFailure) else "error"
        err_console.print(f"[bold red]{kind}:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(EXIT_ERROR if exc.exit_code == 2 else exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(EXIT_INTERRUPTED)
        raise
    sys.exit(EXIT_OK)
