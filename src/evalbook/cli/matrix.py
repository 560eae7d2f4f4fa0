"""``evalbook run SUITE --model A --model B --prompt-version 1 --prompt-version 2``.

promptfoo's habit of evaluating every prompt with every model in one command, on top of
evalbook's record of one run per (model, prompt version): each combination is its own
run, all under one experiment id, run one after the other through the same store and
response cache (a combination that sends what an earlier one sent is answered from the
cache, never asked twice), each with its progress bar. At the end one table compares
every combination with the baseline (the first, or ``--baseline N``) using ``compare``'s
paired statistics. The exit code is the worst of the runs' (0 when all passed).
"""

from __future__ import annotations

import asyncio
import json
import uuid

from rich.table import Table

from evalbook.analysis.compare.comparison import Comparison
from evalbook.analysis.compare.runs import compare_runs
from evalbook.cli.combinations import Combination, options_for
from evalbook.cli.console import console, err_console
from evalbook.cli.execution import announce_run, exit_code_for, progress_bar
from evalbook.core.run import RunOptions, RunRecord
from evalbook.core.suite import Suite
from evalbook.errors import ConfigError
from evalbook.executor.launch import RunJob, execute, prepare_run
from evalbook.executor.lease import execute_held
from evalbook.storage.store import Store

__all__ = ["run_matrix"]


def run_matrix(
    store: Store,
    suite: Suite,
    combinations: list[Combination],
    *,
    options: RunOptions,
    experiment: str | None = None,
    baseline: int = 1,
    tags: list[str] | None = None,
    alias: str | None = None,
    as_json: bool = False,
) -> int:
    """Run every combination, print the comparison table; returns the exit code."""
    experiment_id = experiment or f"matrix-{uuid.uuid4().hex[:12]}"
    labels = [c.label(suite) for c in combinations]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"the matrix repeats a combination: {labels}")
    # a case the suite's case_filters keep out of a combination is not run there
    chosen = [options_for(suite, c, options) for c in combinations]
    for label, opts in zip(labels, chosen, strict=True):
        if opts is None:
            err_console.print(f"{label}: no case runs with it (case_filters); not run")
    kept = [(c, label, o) for c, label, o in zip(combinations, labels, chosen, strict=True) if o]
    if not kept:
        raise ConfigError("no case runs in any combination (see the suite's case_filters)")
    combinations = [c for c, _, _ in kept]
    labels = [label for _, label, _ in kept]
    if not 1 <= baseline <= len(combinations):
        raise ConfigError(f"--baseline must be 1..{len(combinations)}, not {baseline}")
    jobs = [  # every combination prepared (and checked) before the first model call
        prepare_run(
            store,
            suite,
            model=c.model,
            prompt_version=c.version,
            options=opts,
            alias=alias,
            label=label,
            tags=[*(tags or []), "matrix"],
            experiment_id=experiment_id,
            title=f"{suite.name} · {label}",
        )
        for c, label, opts in kept
    ]
    err_console.print(
        f"experiment [bold]{experiment_id}[/]: {len(jobs)} runs", highlight=False, soft_wrap=True
    )
    runs: list[RunRecord] = []
    for job, label in zip(jobs, labels, strict=True):
        runs.append(_execute(store, job, label, suite, as_json=as_json))
    base = runs[baseline - 1]
    comparisons = {run.id: compare_runs(store, base, run) for run in runs if run.id != base.id}
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "experiment_id": experiment_id,
                    "baseline": base.id,
                    "runs": [
                        {"label": label, **run.model_dump(mode="json")}
                        for label, run in zip(labels, runs, strict=True)
                    ],
                    "comparisons": [c.model_dump(mode="json") for c in comparisons.values()],
                }
            )
        )
    else:
        _print_table(experiment_id, labels, runs, base, comparisons)
    return max(exit_code_for(run) for run in runs)


def _execute(store: Store, job: RunJob, label: str, suite: Suite, *, as_json: bool) -> RunRecord:
    announce_run(job.run, suite.source)
    progress, on_event = progress_bar(label, as_json=as_json)
    with progress:
        run = asyncio.run(
            execute_held(store, job.run.id, lambda: execute(store, job, on_event=on_event))
        )
    return run


def _print_table(
    experiment_id: str,
    labels: list[str],
    runs: list[RunRecord],
    base: RunRecord,
    comparisons: dict[str, Comparison],
) -> None:
    table = Table(title=f"experiment {experiment_id}", title_justify="left")
    for column in ("#", "combination", "run", "score", "pass rate", "Δ score vs baseline", "p",
                   "newly failing", "fixed"):  # fmt: skip
        table.add_column(
            column, justify="right" if column not in ("combination", "run") else "left"
        )
    for i, (label, run) in enumerate(zip(labels, runs, strict=True), start=1):
        pass_rate = run.metrics.get("pass_rate")
        row = [
            str(i),
            label + (" (baseline)" if run.id == base.id else ""),
            run.id[:8],
            "—" if run.score is None else f"{run.score:.3f}",
            "—" if pass_rate is None else f"{pass_rate:.1%}",
        ]
        comparison = comparisons.get(run.id)
        if comparison is None:
            row += ["", "", "", ""]
        else:
            metric = comparison.metric("score")
            delta = p = "—"
            if metric is not None and metric.difference is not None:
                lo, hi = metric.difference_ci
                delta = f"{metric.difference:+.3f}"
                if lo is not None and hi is not None:
                    delta += f" [{lo:+.3f}, {hi:+.3f}]"
                p = "—" if metric.p_value is None else f"{metric.p_value:.3g}"
            row += [delta, p, str(len(comparison.regressions)), str(len(comparison.fixes))]
        table.add_row(*row)
    console.print(table)
