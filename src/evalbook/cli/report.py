"""``evalbook report RUN [--compare BASELINE] -o report.html``: a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import typer

from evalbook.cli.console import console
from evalbook.cli.store import open_store
from evalbook.io.report import write_report
from evalbook.storage.run_refs import RUN_HELP, named_run, resolve_run


def report_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    compare: str | None = typer.Option(
        None, "--compare", help="Baseline to compare with: run id, latest, alias:NAME."
    ),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="HTML file to write."),
    max_diffs: int = typer.Option(20, "--max-diffs", min=0, help="Flipped cases to diff."),
) -> None:
    """Write one HTML file (no CDN, opens offline): summary, charts, trend, flips, diffs."""
    store = open_store()
    run = named_run(store, run_id)
    baseline = resolve_run(store, compare, relative_to=run) if compare else None
    path = write_report(store, run, output, baseline=baseline, max_diffs=max_diffs)
    console.print(f"report written to {path}")
