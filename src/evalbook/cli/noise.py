"""``evalbook noise SUITE.yaml --runs K``: A/A runs to measure run-to-run variance.

The suite runs K times with the same model and prompt version and the response cache
*off* (a cached re-run would repeat the first answers and measure nothing). The runs
are recorded, tagged ``aa-noise`` under one experiment id; the estimate (each metric's
spread and noise floor) is printed and, with ``-o``, written for ``gate --noise``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from evalbook.analysis.history.noise import DEFAULT_Z, estimate_noise
from evalbook.cli.console import console, err_console
from evalbook.cli.store import open_store
from evalbook.core.run import RunOptions, RunStatus
from evalbook.errors import EvalbookError
from evalbook.executor.events import Event, ItemDone
from evalbook.executor.launch import execute, prepare_run
from evalbook.suites import load_suite


def noise_command(
    suite_path: Path = typer.Argument(..., metavar="SUITE.yaml", help="Suite file to run."),
    model: str | None = typer.Option(None, "--model", "-m", help="provider:model"),
    runs: int = typer.Option(3, "--runs", "-k", min=2, max=50, help="How many A/A runs."),
    prompt_version: int | None = typer.Option(None, "--prompt-version"),
    concurrency: int = typer.Option(8, "--concurrency", "-c", min=1),
    z: float = typer.Option(DEFAULT_Z, "--z", min=0.5, help="Noise floor = z × sd × √2."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the estimate here."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
) -> None:
    """Run a suite K times unchanged and estimate each metric's run-to-run noise."""
    store = open_store()
    suite = load_suite(suite_path)
    experiment = f"noise-{uuid.uuid4().hex[:8]}"
    ids: list[str] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        disable=as_json,
    )
    with progress:
        for k in range(runs):
            job = prepare_run(
                store,
                suite,
                model=model,
                prompt_version=prompt_version,
                options=RunOptions(concurrency=concurrency, use_cache=False),
                tags=["aa-noise"],
                experiment_id=experiment,
                title=f"{suite.name} · A/A run {k + 1}/{runs}",
            )
            task = progress.add_task(f"A/A run {k + 1}/{runs}", total=job.run.counts.total)

            def on_event(event: Event, task: TaskID = task) -> None:
                if isinstance(event, ItemDone):
                    progress.advance(task)

            done = asyncio.run(execute(store, job, on_event=on_event))
            if done.status is not RunStatus.completed:
                raise EvalbookError(f"A/A run {done.id} ended {done.status.value}; no estimate")
            ids.append(done.id)
    estimate = estimate_noise(store, ids, z=z)
    if output:
        output.write_text(estimate.model_dump_json(indent=2))
    if as_json:
        console.print_json(json.dumps(estimate.model_dump(mode="json")))
        return
    table = Table(
        title=f"run-to-run noise over {runs} A/A runs (experiment {experiment})",
        title_justify="left",
    )
    for col in ("metric", "values", "mean", "sd", f"floor (z={z:g})"):
        table.add_column(col, justify="left" if col in ("metric", "values") else "right")
    for key, m in estimate.metrics.items():
        table.add_row(
            key,
            " ".join(f"{v:.3f}" for v in m.values),
            f"{m.mean:.4f}",
            f"{m.sd:.4f}",
            f"{m.floor:.4f}",
        )
    console.print(table)
    if output:
        console.print(f"written to {output}; use it with [bold]evalbook gate --noise {output}[/]")
