"""``evalbook export RUN_ID``: the seed's EvalRun interchange records."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from evalbook.analysis.feedback import human_verdicts
from evalbook.cli.console import err_console
from evalbook.io.export import FORMATS, write
from evalbook.io.export_tables import write_junit, write_parquet
from evalbook.storage.run_refs import RUN_HELP, named_run
from evalbook.storage.store import Store

_ALL = (*FORMATS, "junit", "parquet")


def export_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    fmt: str = typer.Option(
        "jsonl",
        "--format",
        "-f",
        help=f"One of {', '.join(_ALL)} (junit: a test case per result; parquet: a row per"
        " result, scores as columns, needs -o).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: stdout)."
    ),
) -> None:
    """Export every result of a run, one record per (case, scorer); human feedback adds
    one record per (case, feedback name)."""
    if fmt not in _ALL:
        raise typer.BadParameter(f"use one of {', '.join(_ALL)}", param_hint="--format")
    if fmt == "parquet" and output is None:
        raise typer.BadParameter("Parquet is binary: give a file with -o", param_hint="--output")
    store = Store.open()
    try:
        run = named_run(store, run_id)
        if fmt == "parquet":
            assert output is not None
            n = write_parquet(run, store.iter_results(run.id), output, store)
            err_console.print(f"wrote {n} rows to {output}")
            return
        if fmt == "junit":
            if output is None:
                write_junit(run, store.iter_results(run.id), sys.stdout, store)
                return
            with output.open("w", encoding="utf-8") as fh:
                n = write_junit(run, store.iter_results(run.id), fh, store)
            err_console.print(f"wrote {n} test cases to {output}")
            return
        human = human_verdicts(store, run.id)
        if output is None:
            write(run, store.iter_results(run.id), fmt, sys.stdout, human, store)
            return
        with output.open("w", encoding="utf-8", newline="") as fh:
            n = write(run, store.iter_results(run.id), fmt, fh, human, store)
    finally:
        store.close()
    err_console.print(f"wrote {n} records to {output}")
