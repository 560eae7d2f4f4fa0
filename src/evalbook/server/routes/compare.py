"""Compare two runs of the workspace: the same comparison ``evalbook compare --json`` prints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evalbook.analysis.compare import compare_runs
from evalbook.analysis.models import Comparison
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import StoreDep
from evalbook.storage.runs_query import get_workspace_run

router = APIRouter(prefix="/api/compare", tags=["compare"])

RunQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


@router.get("")
def compare(
    baseline: RunQuery,
    candidate: RunQuery,
    workspace: CurrentWorkspace,
    store: StoreDep,
    confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95,
) -> Comparison:
    """Baseline vs candidate, paired case by case: every metric with its interval,
    p-value and effect size, flips, latency and consumption; candidate − baseline."""
    run_a = get_workspace_run(store, workspace.id, baseline).run
    run_b = get_workspace_run(store, workspace.id, candidate).run
    return compare_runs(store, run_a, run_b, confidence=confidence)
