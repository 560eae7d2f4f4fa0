"""Compare two runs of the workspace: the same comparison ``evalbook compare --json`` prints,
and its per-case rows with word diffs (what the comparison page lists)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evalbook.analysis.compare.cache import cached_comparison
from evalbook.analysis.compare.comparison import Comparison
from evalbook.analysis.compare.rows import CompareRow, RowsPage, Show, compare_rows, one_case
from evalbook.errors import NotFoundError
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import StoreDep
from evalbook.storage.runs import get_workspace_run

router = APIRouter(prefix="/api/compare", tags=["compare"])

RunQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
Confidence = Annotated[float, Query(gt=0.5, lt=1.0)]
Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")]
CaseQuery = Annotated[str, Query(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.get("")
def compare(
    baseline: RunQuery,
    candidate: RunQuery,
    workspace: CurrentWorkspace,
    store: StoreDep,
    confidence: Confidence = 0.95,
) -> Comparison:
    """Baseline vs candidate, paired case by case: every metric with its interval,
    p-value and effect size, flips, latency and consumption; candidate − baseline."""
    run_a = get_workspace_run(store, workspace.id, baseline).run
    run_b = get_workspace_run(store, workspace.id, candidate).run
    return cached_comparison(store, run_a, run_b, confidence=confidence)


@router.get("/cases")
def compare_cases(
    baseline: RunQuery,
    candidate: RunQuery,
    workspace: CurrentWorkspace,
    store: StoreDep,
    show: Show = "flips",
    sort: Annotated[str, Query(pattern=r"^(delta|case|section)$")] = "delta",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RowsPage:
    """A page of the comparison's cases with the word diffs of their outputs (and
    prompts): ``flips`` (regressions, then fixes), ``regressions``, ``fixes`` (sorted by
    ``delta``, ``case`` or ``section``), ``different`` (outputs differ) or ``all`` (in case
    order). ``next_cursor`` continues."""
    run_a = get_workspace_run(store, workspace.id, baseline).run
    run_b = get_workspace_run(store, workspace.id, candidate).run
    comparison = cached_comparison(store, run_a, run_b)
    return compare_rows(
        store,
        comparison,
        run_a,
        run_b,
        show=show,
        sort=sort,  # type: ignore[arg-type]
        cursor=cursor or None,
        limit=limit,
    )


@router.get("/case")
def compare_case(
    baseline: RunQuery,
    candidate: RunQuery,
    case: CaseQuery,
    workspace: CurrentWorkspace,
    store: StoreDep,
    epoch: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CompareRow:
    """One case in both runs: verdicts, Δ score and the word diffs of output and prompt."""
    run_a = get_workspace_run(store, workspace.id, baseline).run
    run_b = get_workspace_run(store, workspace.id, candidate).run
    comparison = cached_comparison(store, run_a, run_b)
    row = one_case(store, comparison, run_a, run_b, case, epoch)
    if row is None:
        raise NotFoundError(f"neither run has case {case!r} (epoch {epoch})")
    return row
