"""Judges of the workspace's runs: the report ``evalbook judges`` prints, and the pairwise
comparisons ``evalbook pairwise`` records (summary and judgments)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from evalbook.analysis.judges.payload import judges_payload
from evalbook.executor.pairwise_job import PairwiseResult, pairwise_result
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import RunId, StoreDep
from evalbook.server.schemas.judges import JudgeCriterion, JudgmentPage
from evalbook.storage.judging import (
    judgment_page,
    parse_after,
    workspace_pairwise,
    workspace_pairwise_list,
)
from evalbook.storage.runs import get_workspace_run

router = APIRouter(tags=["judges"])

ComparisonId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
#: ``case_id`` and ``epoch`` of the last judgment of the previous page, as ``epoch:case``.
After = Annotated[str | None, Query(max_length=320, pattern=r"^[0-9]{1,10}:[^\x00-\x1f\x7f]*$")]


@router.get("/api/runs/{run_id}/judges")
def run_judges(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> list[JudgeCriterion]:
    """Per judged criterion: verdicts parsed and errored, mean with its interval, each
    panel member's mean, the panel's agreement, judge cost, and agreement with humans."""
    run = get_workspace_run(store, workspace.id, run_id).run
    return [JudgeCriterion.model_validate(item) for item in judges_payload(store, run.id)]


@router.get("/api/pairwise")
def list_pairwise(workspace: CurrentWorkspace, store: StoreDep) -> list[PairwiseResult]:
    """The workspace's pairwise comparisons, newest first (the latest 50)."""
    return [pairwise_result(store, c) for c in workspace_pairwise_list(store, workspace.id)]


@router.get("/api/pairwise/{comparison_id}")
def get_pairwise(
    comparison_id: ComparisonId, workspace: CurrentWorkspace, store: StoreDep
) -> PairwiseResult:
    """One pairwise comparison: wins, losses, ties, win rate with its interval, position
    and verbosity bias, what the judge cost."""
    return pairwise_result(store, workspace_pairwise(store, workspace.id, comparison_id))


@router.get("/api/pairwise/{comparison_id}/judgments")
def pairwise_judgments(
    comparison_id: ComparisonId,
    workspace: CurrentWorkspace,
    store: StoreDep,
    outcome: Literal["win", "loss", "tie", "error"] | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JudgmentPage:
    """The comparison's judgments by case, a keyset page at a time (``outcome`` filters:
    the candidate's win, loss, tie, or a judge error)."""
    found = workspace_pairwise(store, workspace.id, comparison_id)
    items, more = judgment_page(
        store, found.id, after=parse_after(after), outcome=outcome, limit=limit
    )
    return JudgmentPage(items=items, next_after=None if more is None else f"{more[1]}:{more[0]}")
