"""``/judges``: can the workspace's judges be trusted? The runs with ``llm_judge`` verdicts
and the pairwise comparisons; ``/judges/{run_id}``: what ``evalbook judges RUN`` prints —
per judged criterion the parse errors, the mean with its interval, each panel member's
mean, the panel's agreement, the judge's agreement with human reviews and the judge
cost; ``/pairwise/{id}``: what ``evalbook pairwise`` prints — wins, losses, ties, the win
rate with its interval, position and verbosity bias — and its judgments by case (paged,
filtered by outcome). JSON twins: ``GET /api/runs/{id}/judges``, ``GET /api/pairwise``,
``GET /api/pairwise/{id}`` and ``…/judgments``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.judges.agreement import feedback_agreement
from evalbook.analysis.judges.report import judge_report
from evalbook.executor.pairwise_job import pairwise_result
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import interval_bar
from evalbook.server.web.pages.board import RunIdPath
from evalbook.server.web.templating import render
from evalbook.stats.pairwise import POSITION_BIAS_WARNING
from evalbook.storage.judging import (
    judged_runs,
    judgment_page,
    parse_after,
    workspace_pairwise,
    workspace_pairwise_list,
)
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.store import Store

router = APIRouter()

__all__ = ["router"]

PAGE = 50
ComparisonId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
Outcome = Literal["win", "loss", "tie", "error"]
After = Annotated[str | None, Query(max_length=320, pattern=r"^[0-9]{1,10}:[^\x00-\x1f\x7f]*$")]


@router.get("/judges")
async def judges_page(request: Request, viewer: PageViewer) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, Any]:
        pairwise = workspace_pairwise_list(store, workspace_id)
        return {
            "runs": judged_runs(store, workspace_id),
            "pairwise": [pairwise_result(store, c) for c in pairwise],
        }

    context = await run_in_threadpool(load)
    context.update(title="Judges", nav="judges", json_url="/api/pairwise")
    return render(request, "judges.html", context, viewer=viewer)


def judge_context(store: Store, workspace_id: str, run_id: str) -> dict[str, Any]:
    run = get_workspace_run(store, workspace_id, run_id).run
    reports = judge_report(store, run.id)
    humans = feedback_agreement(store, run.id)
    rows = []
    for r in reports:
        members = [
            {
                "model": model,
                "mean": r.member_means.get(model),
                "errors": r.member_errors.get(model, 0),
                "bar": interval_bar(r.member_means.get(model), None, None, width=120),
            }
            for model in r.judges
        ]
        rows.append(
            {
                "r": r,
                "bar": interval_bar(r.mean, r.ci_low, r.ci_high),
                "members": members,
                "human": humans.get(r.name),
            }
        )
    return {"run": run, "rows": rows}


@router.get("/judges/{run_id}")
async def judge_run_page(request: Request, viewer: PageViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    context = await run_in_threadpool(judge_context, store, viewer.workspace.id, run_id)
    run = context["run"]
    context.update(
        title=f"Judges of {run.suite_name} · {run.id[:8]}",
        nav="judges",
        json_url=f"/api/runs/{run.id}/judges",
    )
    return render(request, "judge_run.html", context, viewer=viewer)


@router.get("/pairwise/{comparison_id}")
async def pairwise_page(
    request: Request,
    viewer: PageViewer,
    comparison_id: ComparisonId,
    outcome: Outcome | None = None,
    after: After = None,
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, Any]:
        record = workspace_pairwise(store, workspace_id, comparison_id)
        result = pairwise_result(store, record)
        items, more = judgment_page(
            store, record.id, after=parse_after(after), outcome=outcome, limit=PAGE
        )
        s = result.summary
        return {
            "result": result,
            "s": s,
            "baseline": get_workspace_run(store, workspace_id, result.baseline_run_id).run,
            "candidate": get_workspace_run(store, workspace_id, result.candidate_run_id).run,
            "judgments": items,
            "more": more,
            "bars": {
                "win_rate": _ci_bar(s.win_rate, s.win_rate_ci) if s else None,
                "score": _ci_bar(s.score, s.score_ci) if s else None,
                "position": _ci_bar(s.position_bias_rate, s.position_bias_ci) if s else None,
            },
        }

    context = await run_in_threadpool(load)
    result = context["result"]
    base = f"/pairwise/{result.id}"

    def url(**changes: Any) -> str:
        values = {"outcome": outcome or "", "after": after or ""} | changes
        kept = {k: v for k, v in values.items() if v}
        return base + (f"?{urlencode(kept)}" if kept else "")

    more = context.pop("more")
    context.update(
        outcome=outcome or "",
        after=after or "",
        page_url=url,
        next_url=url(after=f"{more[1]}:{more[0]}") if more else None,
        bias_warning=POSITION_BIAS_WARNING,
        compare_url=f"/compare?runs={result.baseline_run_id},{result.candidate_run_id}",
        judgments_api=f"/api/pairwise/{result.id}/judgments"
        + (f"?{urlencode({'outcome': outcome})}" if outcome else ""),
        title=f"Pairwise {result.id[:8]}",
        nav="judges",
        json_url=f"/api/pairwise/{result.id}",
    )
    return render(request, "pairwise.html", context, viewer=viewer)


def _ci_bar(value: float | None, ci: tuple[float, float] | None) -> Any:
    low, high = ci if ci is not None else (None, None)
    return interval_bar(value, low, high)
