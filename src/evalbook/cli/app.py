"""The ``evalbook`` command: one Typer app, one module per command.

Exit codes: 0 ok; 1 usage, config or input error; 100 the run finished but did not pass
its threshold (or cases failed where that is the gate); 130 interrupted.
"""

from __future__ import annotations

import gc
import sys

import typer

from evalbook.cli.lazy import LazyCommand, LazyGroup
from evalbook.errors import EvalbookError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FAILED = 100
EXIT_INTERRUPTED = 130

# Every command, in the order `evalbook --help` lists them. Its module is imported only when
# the command runs, so that start-up stays cheap; the summary is the first paragraph of the
# command's own help (a test keeps the two equal).
COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        "evalbook.cli.init:init_command",
        "Write a suite you can run at once: two prompt versions, a dataset, scorers, a model.",
    ),
    "run": LazyCommand("evalbook.cli.run:run_command", "Run SUITE.yaml and record every case."),
    "resume": LazyCommand(
        "evalbook.cli.resume:resume_command",
        "Continue an interrupted or canceled run: only the cases it has not recorded are asked.",
    ),
    "quickstart": LazyCommand(
        "evalbook.cli.quickstart:quickstart_command",
        "Run the quickstart suite on the embedded SmolLM2-135M model (or --model).",
    ),
    "export": LazyCommand(
        "evalbook.cli.export:export_command",
        "Export every result of a run, one record per (case, scorer); human feedback adds\n"
        "one record per (case, feedback name).",
    ),
    "import": LazyCommand(
        "evalbook.cli.importing:import_command",
        "Write SOURCE (FORMAT: see --help of each) as an evalbook suite; whatever cannot be\n"
        "mapped is listed with its file and line.",
    ),
    "import-run": LazyCommand(
        "evalbook.cli.import_run:import_run_command",
        "Record FILE's results as completed runs tagged `imported` (one per prompt ×\n"
        "provider), so compare, gate, trend and the web workspace see them; nothing is\n"
        "recorded when the file is not valid.",
    ),
    "compare": LazyCommand(
        "evalbook.cli.compare:compare_command",
        "Compare runs case by case: metrics with CIs and paired tests, flips, latency, cost.",
    ),
    "pairwise": LazyCommand(
        "evalbook.cli.pairwise:pairwise_command",
        "Judge two runs' answers pairwise, in both orders: win rate, ties, position bias.",
    ),
    "gate": LazyCommand(
        "evalbook.cli.gate:gate_command",
        "Compare a candidate run with a baseline; exit 100 when a gate rule fails.",
    ),
    "noise": LazyCommand(
        "evalbook.cli.noise:noise_command",
        "Run a suite K times unchanged and estimate each metric's run-to-run noise.",
    ),
    "trend": LazyCommand(
        "evalbook.cli.trend:trend_command",
        "Runs of a suite over time: a terminal sparkline of one metric and the table behind it.",
    ),
    "report": LazyCommand(
        "evalbook.cli.report:report_command",
        "Write one HTML file (no CDN, opens offline): summary, charts, trend, flips, diffs.",
    ),
    "rescore": LazyCommand(
        "evalbook.cli.rescore:rescore_command",
        "Score a finished run's outputs with new scorers into a new linked run (no model calls).",
    ),
    "judges": LazyCommand(
        "evalbook.cli.judges:judges_command",
        "Judge reliability per judged criterion: parse errors, means, panel agreement, cost.",
    ),
    "feedback": LazyCommand(
        "evalbook.cli.feedback:feedback_command",
        "Record human feedback on a result (appended, never overwriting), or list it.",
    ),
    "worker": LazyCommand(
        "evalbook.cli.worker:worker_command",
        "Execute queued runs from the database until SIGINT/SIGTERM (or --max-runs N).",
    ),
    "serve": LazyCommand(
        "evalbook.cli.serve:serve_command",
        "Serve the REST API (OpenAPI at /openapi.json) and the web workspace (/), and\n"
        "execute queued runs.",
    ),
    "view": LazyCommand(
        "evalbook.cli.view:view_command",
        "Open the web workspace (dashboard, runs, launch sheet) on 127.0.0.1.",
    ),
    "runs": LazyCommand("evalbook.cli.runs:app", "List and inspect recorded runs."),
    "scorers": LazyCommand("evalbook.cli.catalog:scorers_app", "The scorers a suite can name."),
    "providers": LazyCommand(
        "evalbook.cli.catalog:providers_app", "The model providers a model spec can name."
    ),
    "schema": LazyCommand("evalbook.cli.schema:app", "Print a published JSON Schema."),
    "db": LazyCommand("evalbook.cli.db:app", "Database schema migrations."),
    "keys": LazyCommand("evalbook.cli.keys:app", "API keys for `evalbook serve` (stored hashed)."),
    "browser": LazyCommand(
        "evalbook.cli.browser:app", "Models behind a website: log in once, try a site profile."
    ),
}


class EvalbookGroup(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="evalbook",
    help="Run LLM evaluation suites, keep every run, compare and gate.",
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=EvalbookGroup,
)


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


#: Commands that keep running (a server, a worker): Python's collector keeps its pace.
LONG_LIVED = frozenset({"serve", "worker", "view"})
#: New objects between two collections of the youngest generation in a command that ends
#: with its work (an export, a report, a comparison), instead of Python's 700.
BATCH_GC_THRESHOLD = 100_000


def _pace_collector(args: list[str]) -> tuple[int, ...] | None:
    """For a command that ends with its work, collect the youngest generation every
    :data:`BATCH_GC_THRESHOLD` new objects; the thresholds to hand back (``None``: left
    as they were). Why: such a command keeps thousands of objects at a time (a batch of
    results being exported), and each of Python's collections walked those still young:
    they were a sixth of exporting 40,000 records (5.2-5.4 → 4.2-4.5 s; 1.5 MB more).
    Cycles are still collected, a little later. A run raises it as much by itself."""
    command = next((a for a in args if not a.startswith("-")), None)
    before = gc.get_threshold()
    if command in LONG_LIVED or before[0] >= BATCH_GC_THRESHOLD:
        return None
    gc.set_threshold(BATCH_GC_THRESHOLD, *before[1:])
    return before


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one clear line and exit 1, never a traceback."""
    paced = _pace_collector(sys.argv[1:] if argv is None else argv)
    try:
        _main(argv)
    finally:
        if paced is not None:  # (a caller in the same process gets its own back)
            gc.set_threshold(*paced)


def _main(argv: list[str] | None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        from evalbook.cli.console import err_console

        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except EvalbookError as exc:
        from rich.text import Text

        from evalbook.cli.console import err_console, shown

        # As text: a message may quote brackets (``pip install 'evalbook[server]'``) or
        # what a file holds (control characters, written as escapes).
        message = shown(str(exc), one_line=False)
        err_console.print(
            Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True
        )
        sys.exit(EXIT_ERROR)
    except typer.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(0 if type(exc).__name__ == "NoArgsIsHelpError" else EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
