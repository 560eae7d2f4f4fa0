"""``evalbook export RUN_ID``: the seed's EvalRun interchange records."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from evalbook.analysis.feedback import human_verdicts
from evalbook.cli.console import err_console
from evalbook.io.export import FORMATS, write
from evalbook.storage.store import Store


def export_command(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help=f"One of {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: stdout)."
    ),
) -> None:
    """Export every result of a run, one record per (case, scorer); human feedback adds
    one record per (case, feedback name)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    store = Store.open()
    try:
        run = store.get_run(run_id)
        human = human_verdicts(store, run.id)
        if output is None:
            write(run, store.iter_results(run.id), fmt, sys.stdout, human)
            return
        with output.open("w", encoding="utf-8", newline="") as fh:
            n = write(run, store.iter_results(run.id), fmt, fh, human)
    finally:
        store.close()
    err_console.print(f"wrote {n} records to {output}")
