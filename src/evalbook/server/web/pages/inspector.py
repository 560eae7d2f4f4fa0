"""``/runs/{id}``: the run inspector. The run's summary from its stored aggregates, its
settings (options and model config, folded: ``GET /api/runs/{id}``'s ``options`` and
``model``), the section and scorer breakdowns with their intervals, and one keyset page
of its items (filtered: failed, errored, section, scorer, text; every filter in the URL;
``EVALBOOK_MAX_PAGE_BYTES`` of text at most). Actions: cancel, resume, archive, save the
failures as a suite. JSON twin:
``GET /api/runs/{id}/results?…`` (the same filter and query), ``/api/runs/{id}/metrics``.

A run of 100,000 cases opens as fast as one of 100: nothing here reads the whole run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from evalbook.core.result import Result
from evalbook.errors import UserError
from evalbook.executor.lease import owner_gone
from evalbook.server.state import server_state
from evalbook.server.web.access import CheckedViewer, PageViewer
from evalbook.server.web.charts import interval_bar
from evalbook.server.web.pages.board import RunIdPath
from evalbook.server.web.pages.review import review_targets
from evalbook.server.web.templating import render
from evalbook.storage.feedback import feedback_of_results
from evalbook.storage.regression import save_failures_as_suite
from evalbook.storage.results import (
    ResultFilter,
    asks_for_review,
    count_awaiting_review,
    count_results,
    query_results,
    result_seq,
)
from evalbook.storage.runs import RunFilter, get_workspace_run, list_workspace_runs, resume_refusal
from evalbook.storage.store import Store
from evalbook.storage.stored_changes import stored_changes_of

router = APIRouter()

PAGE = 20
#: Characters of an output, prompt or reference shown on the page; the rest is in JSON.
CLIP = 20_000
_TEXT = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str | None, Query(max_length=200, pattern=_TEXT)]
Flag = Annotated[str | None, Query(max_length=5)]


@dataclass(frozen=True)
class InspectQuery:
    """The inspector's view as the URL carries it (empty strings mean "any")."""

    failed: bool = False
    errored: bool = False
    awaiting: bool = False
    section: str = ""
    scorer: str = ""
    q: str = ""
    after: int = -1
    case: str = ""
    epoch: int = 0

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "failed": "1" if self.failed else "",
            "errored": "1" if self.errored else "",
            "awaiting": "1" if self.awaiting else "",
            "section": self.section,
            "scorer": self.scorer,
            "q": self.q,
            "after": str(self.after) if self.after >= 0 else "",
            "case": self.case,
            "epoch": str(self.epoch) if self.case and self.epoch else "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def url(self, run_id: str, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"/runs/{run_id}" + (f"?{query}" if query else "")

    def api_url(self, run_id: str) -> str:
        api: dict[str, str] = {}
        if self.failed:
            api["failed_only"] = "true"
        if self.errored:
            api["errored_only"] = "true"
        if self.awaiting:
            api["awaiting_review"] = "true"
        for name in ("section", "scorer", "q"):
            value = getattr(self, name)
            if value:
                api[name] = value
        return f"/api/runs/{run_id}/results" + (f"?{urlencode(api)}" if api else "")

    @property
    def active(self) -> bool:
        return bool(
            self.failed or self.errored or self.awaiting or self.section or self.scorer or self.q
        )

    def result_filter(self) -> ResultFilter:
        return ResultFilter(
            failed_only=self.failed,
            errored_only=self.errored,
            awaiting_review=self.awaiting,
            section=self.section or None,
            scorer=self.scorer or None,
            q=self.q or None,
        )


def _on(value: str | None) -> bool:
    return value in ("1", "true", "on")


def inspect_query(
    failed: Flag = None,
    errored: Flag = None,
    awaiting: Flag = None,
    section: Text = None,
    scorer: Text = None,
    q: Text = None,
    after: Annotated[int | None, Query(ge=-1, le=2**31 - 1)] = None,
    case: Annotated[str | None, Query(max_length=300, pattern=_TEXT)] = None,
    epoch: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> InspectQuery:
    """The inspector's URL parameters (a dependency)."""
    return InspectQuery(
        failed=_on(failed),
        errored=_on(errored),
        awaiting=_on(awaiting),
        section=(section or "").strip(),
        scorer=(scorer or "").strip(),
        q=(q or "").strip(),
        after=-1 if after is None else after,
        case=(case or "").strip(),
        epoch=epoch,
    )


@dataclass(frozen=True)
class Breakdown:
    """One row of a section or scorer table: mean, interval, its bar."""

    name: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    higher_is_better: bool
    bar: Any


def _breakdowns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The stored metric rows split by scope: run-level values, latency, sections, scorers."""
    run: dict[str, float | None] = {}
    latency: dict[str, float | None] = {}
    sections: list[Breakdown] = []
    scorers: list[Breakdown] = []
    for row in rows:
        scope, name = row["scope"], row["name"]
        if scope == "run":
            run[name] = row["value"]
        elif scope == "latency_ms":
            latency[name] = row["value"]
        elif scope in ("section", "scorer"):
            item = Breakdown(
                name=name,
                value=row["value"],
                n=row["n"],
                ci_low=row["ci_low"],
                ci_high=row["ci_high"],
                higher_is_better=bool(row["higher_is_better"]),
                bar=interval_bar(row["value"], row["ci_low"], row["ci_high"]),
            )
            (sections if scope == "section" else scorers).append(item)
    return {"run_metrics": run, "latency": latency, "sections": sections, "scorers": scorers}


def _page(store: Store, run_id: str, query: InspectQuery) -> tuple[list[Result], str | None]:
    results, last = query_results(
        store, run_id, query.result_filter(), limit=PAGE, after_seq=query.after
    )
    more = None if last is None else query.url(run_id, after=last, case="")
    return results, more


def inspector_context(
    store: Store, workspace_id: str, run_id: str, query: InspectQuery
) -> dict[str, Any]:
    """Everything the inspector shows (one run, its aggregates, one page of items)."""
    found = get_workspace_run(store, workspace_id, run_id, gone=owner_gone)
    run = found.run
    if query.case and query.after < 0 and not query.active:
        # A link to one item (a board cell, "link to this item"): the page that holds it.
        seq = result_seq(store, run.id, query.case, query.epoch)
        if seq is not None and seq >= PAGE:
            query = replace(query, after=seq - 1)
    reviewable = not query.awaiting or asks_for_review(store, run)
    results, more = _page(store, run.id, query) if reviewable else ([], None)
    feedback = feedback_of_results(store, [r.id for r in results])
    context: dict[str, Any] = {
        "feedback": feedback,
        "stored_changes": stored_changes_of(store, [r.id for r in results]),
        "targets_of": {r.id: review_targets(r, feedback.get(r.id, [])) for r in results},
        "human": _human_summary(run.feedback_scores),
        "awaiting_count": _awaiting(store, run.id, query, reviewable),
        "item": found,
        "run": run,
        "results": results,
        "more": more,
        "query": query,
        "clip": CLIP,
        "resumable": _resumable(run),
        "previous": _previous(store, workspace_id, run),
        "recorded": count_results(store, run.id) if found.interrupted else None,
    }
    context.update(_breakdowns(store.get_metrics(run.id)))
    return context


def _previous(store: Store, workspace_id: str, run: Any) -> str | None:
    """The latest completed run of the same suite before this one (to compare with)."""
    flt = RunFilter(suite_id=run.suite_id, status="completed", created_before=run.created_at)
    found = list_workspace_runs(store, workspace_id, flt, limit=1)
    return found[0].run.id if found else None


def _awaiting(store: Store, run_id: str, query: InspectQuery, reviewable: bool) -> int | None:
    """How many results await review, shown with the review queue only."""
    if not query.awaiting:
        return None
    return count_awaiting_review(store, run_id) if reviewable else 0


def _human_summary(stored: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The run's ``feedback_scores`` (stored, kept current by every review) by criterion."""
    if not stored:
        return []
    try:
        data = json.loads(stored)
    except ValueError:
        return []
    return sorted((str(k), v) for k, v in data.items() if isinstance(v, dict))


def _resumable(run: Any) -> bool:
    """Whether a Resume button makes sense (the click checks :func:`resume_refusal`)."""
    if not run.status.finished or run.archived_at is not None or run.rescored_from:
        return False
    return bool(run.status.value != "completed" or run.counts.errored > 0)


@router.get("/runs/{run_id}")
async def inspector_page(
    request: Request,
    viewer: PageViewer,
    run_id: RunIdPath,
    query: Annotated[InspectQuery, Depends(inspect_query)],
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    context = await run_in_threadpool(inspector_context, store, viewer.workspace.id, run_id, query)
    run = context["run"]
    context.update(
        title=f"{run.suite_name} · {run.id[:8]}",
        nav="runs",
        json_url=query.api_url(run.id),
        notice=request.query_params.get("notice", "")[:300],
    )
    template = "_items.html" if request.headers.get("HX-Target") == "items" else "inspect.html"
    return render(request, template, context, viewer=viewer)


def _back(run_id: str, notice: str = "") -> RedirectResponse:
    url = f"/runs/{run_id}" + (f"?notice={quote(notice)}" if notice else "")
    return RedirectResponse(url, status_code=303)


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, viewer: CheckedViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    state = server_state(request)
    workspace_id = viewer.workspace.id

    def change() -> str:
        get_workspace_run(state.store, workspace_id, run_id)
        status = state.dispatcher.cancel(run_id)
        if status.value == "canceled":
            return "Canceled."
        return "Cancel requested." if not status.finished else f"The run is already {status.value}."

    notice = await run_in_threadpool(change)
    return _back(run_id, notice)


@router.post("/runs/{run_id}/resume")
async def resume(request: Request, viewer: CheckedViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    state = server_state(request)
    workspace_id = viewer.workspace.id

    def change() -> None:
        run = get_workspace_run(state.store, workspace_id, run_id).run
        refusal = resume_refusal(state.store, run)
        if refusal is not None:
            raise UserError(refusal)
        if not state.dispatcher.requeue(run.id):
            raise UserError(f"run {run.id} changed state meanwhile; reload the page")

    await run_in_threadpool(change)
    return _back(run_id, "Resumed: the missing and errored cases run again.")


@router.post("/runs/{run_id}/failures-suite")
async def failures_suite(request: Request, viewer: CheckedViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def save() -> str:
        run = get_workspace_run(store, workspace_id, run_id).run
        saved = save_failures_as_suite(store, workspace_id, run)
        return f"/suites/{quote(saved.suite_id, safe='')}?version={quote(saved.version)}"

    target = await run_in_threadpool(save)
    return RedirectResponse(target, status_code=303)


__all__ = ["InspectQuery", "inspect_query", "inspector_context", "router"]
