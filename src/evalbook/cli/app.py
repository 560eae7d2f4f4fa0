"""The ``evalbook`` command: one Typer app, one module per command.

Exit codes: 0 ok; 1 usage, config or input error; 100 the run finished but did not pass
its threshold (or cases failed where that is the gate); 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from evalbook.cli import (
    browser,
    compare,
    db,
    export,
    feedback,
    gate,
    judges,
    keys,
    noise,
    pairwise,
    quickstart,
    report,
    rescore,
    run,
    runs,
    schema,
    serve,
    trend,
    view,
    worker,
)
from evalbook.cli.console import err_console
from evalbook.errors import EvalbookError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FAILED = 100
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="evalbook",
    help="Run LLM evaluation suites, keep every run, compare and gate.",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run_command)
app.command("quickstart")(quickstart.quickstart_command)
app.command("export")(export.export_command)
app.command("compare")(compare.compare_command)
app.command("pairwise")(pairwise.pairwise_command)
app.command("gate")(gate.gate_command)
app.command("noise")(noise.noise_command)
app.command("trend")(trend.trend_command)
app.command("report")(report.report_command)
app.command("rescore")(rescore.rescore_command)
app.command("judges")(judges.judges_command)
app.command("feedback")(feedback.feedback_command)
app.command("worker")(worker.worker_command)
app.add_typer(runs.app, name="runs")
app.add_typer(schema.app, name="schema")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(browser.app, name="browser")
app.command("serve")(serve.serve_command)
app.command("view")(view.view_command)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        from evalbook._version import __version__

        typer.echo(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one clear line and exit 1, never a traceback."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except EvalbookError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_ERROR)
    except typer.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(0 if type(exc).__name__ == "NoArgsIsHelpError" else EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
