"""``evalbook import-run FORMAT FILE``: another tool's finished results as evalbook runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from evalbook.cli.console import console, err_console
from evalbook.cli.store import open_store
from evalbook.importers.runs import RUN_FORMATS, import_runs


def import_run_command(
    format_name: str = typer.Argument(
        ..., metavar="FORMAT", help=f"Results format: {', '.join(RUN_FORMATS)}."
    ),
    source: Path = typer.Argument(
        ...,
        help="promptfoo eval -o results.json, or an Inspect .eval/.json log.",
    ),
    suite_id: str | None = typer.Option(
        None, "--suite-id", help="Record under this suite id (default: the source config's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the recorded runs as JSON."),
) -> None:
    """Record FILE's results as completed runs tagged `imported` (one per prompt ×
    provider), so compare, gate, trend and the web workspace see them; nothing is
    recorded when the file is not valid."""
    runs = import_runs(open_store(), format_name, source, suite_id=suite_id)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in runs]))
        return
    for run in runs:
        counts = run.counts
        err_console.print(
            f"{run.id}  {run.title}: {counts.passed} passed, {counts.failed} failed,"
            f" {counts.errored} errored",
            soft_wrap=True,
            markup=False,
        )
    err_console.print(f"recorded {len(runs)} imported run(s) from {source}", soft_wrap=True)
