"""``evalbook quickstart``: a real eval on the embedded local model, in about a minute.

Fetches SmolLM2-135M-Instruct into ``$EVALBOOK_HOME/models`` on first use (checksum
verified), runs the packaged quickstart suite, prints the summary and where the run was
recorded. It exits 0 when the run completed, whatever the tiny model scored: the point is
to see a recorded reading, not to pass.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import typer

from evalbook.cli.console import console, err_console
from evalbook.cli.execution import run_in_terminal
from evalbook.cli.store import open_store
from evalbook.core.run import RunOptions, RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.suites import load_suite

#: Items the quickstart keeps in flight unless told otherwise.
CONCURRENCY = 4


def quickstart_suite_path() -> Path:
    return Path(str(files("evalbook.quickstart").joinpath("suite.yaml")))


def quickstart_command(
    model: str | None = typer.Option(
        None, "--model", "-m", help="Another model to try the suite on."
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help=f"Items in flight (default: {CONCURRENCY})."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ask the model again even if answers are cached."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run record as JSON."),
) -> None:
    """Run the quickstart suite on the embedded SmolLM2-135M model (or --model)."""
    suite_path = quickstart_suite_path()
    suite = load_suite(suite_path)
    store = open_store()
    if not as_json:
        err_console.print(
            f"[bold]evalbook quickstart[/]: {len(suite.cases)} cases"
            f" ({', '.join(sorted({c.section or '-' for c in suite.cases}))}) on"
            f" {model or suite.model.spec if suite.model else 'local:smollm2-135m'}"
        )
    job = prepare_run(
        store,
        suite,
        model=model,
        options=RunOptions(concurrency=concurrency or CONCURRENCY, use_cache=not no_cache),
        tags=["quickstart"],
    )
    result = run_in_terminal(store, job, as_json=as_json, concurrency_given=concurrency is not None)
    if not as_json:
        console.print(
            f"next: [bold]evalbook runs show {result.id[:8]} --results[/]  ·  "
            f"[bold]evalbook export {result.id[:8]} --format jsonl[/]  ·  "
            f"copy [bold]{suite_path}[/] to write your own suite"
        )
    if result.status is not RunStatus.completed:
        raise typer.Exit(1)
