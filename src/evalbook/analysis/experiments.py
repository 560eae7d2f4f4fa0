"""An experiment as a matrix: its combinations, each compared with the baseline, and a
page of the case grid (rows = cases, columns = combinations, each cell the output's start
and its verdict).

What ``GET /api/experiments/{id}`` answers and ``/experiments/{id}`` shows. The baseline
is the experiment's first run (the matrix's first combination) unless one is named; each
other run is compared with it by ``compare``'s paired statistics, from the comparison
cache when both have finished. Outputs are model text: they leave here as data, and every
page escapes them.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from evalbook.analysis.compare.cache import cached_comparison
from evalbook.analysis.compare.comparison import MetricComparison
from evalbook.core.run import RunCounts, RunRecord
from evalbook.errors import UserError
from evalbook.storage.experiments import (
    ExperimentSummary,
    experiment_runs,
    grid_cells,
    grid_keys,
    list_experiments,
)
from evalbook.storage.store import Store

__all__ = [
    "Combination",
    "Experiment",
    "ExperimentComparison",
    "ExperimentSummary",
    "Grid",
    "GridCellOut",
    "GridRow",
    "decode_grid_cursor",
    "encode_grid_cursor",
    "experiment_view",
    "list_experiments",
]

#: Characters of an output a grid cell carries.
PREVIEW_CHARS = 300


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Combination(_Model):
    """One column: a run of the experiment."""

    index: int
    run_id: str
    label: str
    model: str
    prompt: str
    prompt_version: int
    status: str
    score: float | None
    pass_rate: float | None
    counts: RunCounts
    baseline: bool
    created_at: datetime


class ExperimentComparison(_Model):
    """A combination against the baseline: every metric's paired difference, its
    interval and p-value, and how many cases flipped each way."""

    run_id: str
    label: str
    paired: int
    metrics: list[MetricComparison]
    regressions: int
    fixes: int
    warnings: list[str]


class GridCellOut(_Model):
    """One combination's result for one case; ``output`` is the output's start
    (``truncated`` when there is more)."""

    status: str
    score: float | None
    output: str | None
    truncated: bool
    latency_ms: float | None
    cached: bool
    error: str | None


class GridRow(_Model):
    """One case: a cell per combination, in column order (``None``: no result)."""

    case_id: str
    epoch: int
    cells: list[GridCellOut | None]
    #: Whether the combinations disagree on the verdict.
    differs: bool
    #: Whether their outputs are not all the same (compared whole only on a
    #: ``differing`` page, where every row's outputs or verdicts differ; elsewhere by the
    #: outputs' starts and lengths).
    outputs_differ: bool = False


class Grid(_Model):
    rows: list[GridRow]
    #: Only the rows where the combinations' outputs or verdicts differ.
    differing: bool = False
    #: Keyset cursor of the next page (``None``: the last page).
    next_cursor: str | None


class Experiment(_Model):
    id: str
    suites: list[str]
    baseline: str
    combinations: list[Combination]
    comparisons: list[ExperimentComparison]
    grid: Grid


def encode_grid_cursor(case_id: str, epoch: int) -> str:
    """The cursor after the grid row ``(case_id, epoch)``."""
    raw = json.dumps([case_id, epoch], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_grid_cursor(cursor: str | None) -> tuple[str, int] | None:
    """The ``(case_id, epoch)`` a grid page's cursor carries; anything else is refused."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], str)
        or not isinstance(value[1], int)
        or isinstance(value[1], bool)
        or not 0 <= value[1] <= 2**31 - 1  # an epoch; the database's integers are bounded
        or len(value[0]) > 300  # a case id
    ):
        raise UserError("cursor: not a cursor this experiment's grid gave out")
    return value[0], value[1]


def label_of(run: RunRecord) -> str:
    """The combination's name: the matrix's label, else model and prompt version."""
    if run.label:
        return run.label
    model = f"{run.model.get('provider', '?')}:{run.model.get('name', '?')}"
    return f"{model} · v{run.prompt_version}"


def experiment_view(
    store: Store,
    workspace_id: str,
    experiment_id: str,
    *,
    baseline: str | None = None,
    after: tuple[str, int] | None = None,
    limit: int = 50,
    differing: bool = False,
) -> Experiment:
    """The experiment with a page of its grid after ``after`` (a ``(case_id, epoch)``);
    ``differing``: only the cases whose outputs or verdicts differ between combinations."""
    runs = experiment_runs(store, workspace_id, experiment_id)
    base = runs[0]
    if baseline is not None:
        chosen = [r for r in runs if r.id == baseline]
        if not chosen:
            raise UserError(
                f"baseline: run {baseline!r} is not part of experiment {experiment_id!r}"
            )
        base = chosen[0]
    columns = [
        Combination(
            index=i,
            run_id=run.id,
            label=label_of(run),
            model=f"{run.model.get('provider', '?')}:{run.model.get('name', '?')}",
            prompt=run.prompt_name,
            prompt_version=run.prompt_version,
            status=run.status.value,
            score=run.score,
            pass_rate=run.metrics.get("pass_rate"),
            counts=run.counts,
            baseline=run.id == base.id,
            created_at=run.created_at,
        )
        for i, run in enumerate(runs, start=1)
    ]
    comparisons = []
    for run in runs:
        if run.id == base.id:
            continue
        c = cached_comparison(store, base, run)
        comparisons.append(
            ExperimentComparison(
                run_id=run.id,
                label=label_of(run),
                paired=c.paired,
                metrics=c.metrics,
                regressions=len(c.regressions),
                fixes=len(c.fixes),
                warnings=c.warnings,
            )
        )
    ids = [run.id for run in runs]
    keys, more = grid_keys(store, ids, limit=limit, after=after, differing=differing)
    cells = {
        (cell.run_id, cell.case_id, cell.epoch): cell
        for cell in grid_cells(store, ids, keys, chars=PREVIEW_CHARS)
    }
    rows = []
    for case_id, epoch in keys:
        row: list[GridCellOut | None] = []
        for run_id in ids:
            found = cells.get((run_id, case_id, epoch))
            row.append(
                None
                if found is None
                else GridCellOut(
                    status=found.status,
                    score=found.score,
                    output=found.output_preview,
                    truncated=found.output_chars > PREVIEW_CHARS,
                    latency_ms=found.latency_ms,
                    cached=found.cached,
                    error=found.error,
                )
            )
        verdicts = {cell.status for cell in row if cell is not None}
        outputs = {
            (got.output_preview, got.output_chars)
            for run_id in ids
            if (got := cells.get((run_id, case_id, epoch))) is not None
        }
        rows.append(
            GridRow(
                case_id=case_id,
                epoch=epoch,
                cells=row,
                differs=len(verdicts) > 1,
                outputs_differ=len(outputs) > 1 or (differing and len(verdicts) == 1),
            )
        )
    next_cursor = encode_grid_cursor(*keys[-1]) if more and keys else None
    return Experiment(
        id=experiment_id,
        suites=list(dict.fromkeys(run.suite_id for run in runs)),
        baseline=base.id,
        combinations=columns,
        comparisons=comparisons,
        grid=Grid(rows=rows, differing=differing, next_cursor=next_cursor),
    )
