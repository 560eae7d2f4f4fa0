"""``/suites``: the workspace's suites; ``/suites/{id}``: one suite's versions, its cases
a page at a time (``?version=…&start=…``), its recent runs and their pass-rate trend.
JSON twins: ``GET /api/suites``, ``GET /api/suites/{id}/versions/{version}/cases``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.errors import NotFoundError
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import pass_rate_trend
from evalbook.server.web.templating import render
from evalbook.storage.catalog import SuiteRef, suite_cases, suite_refs, suite_run_counts
from evalbook.storage.runs import RunFilter, list_workspace_runs

router = APIRouter()

__all__ = ["router"]

CASES = 50
RUNS = 10
TREND = 50
SuiteId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[a-z0-9_.-]+$")]
Version = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]


def _by_suite(refs: list[SuiteRef]) -> list[dict[str, Any]]:
    grouped: dict[str, list[SuiteRef]] = {}
    for ref in refs:
        grouped.setdefault(ref.suite_id, []).append(ref)
    return [
        {"id": sid, "latest": versions[-1], "versions": versions}
        for sid, versions in sorted(grouped.items())
    ]


@router.get("/suites")
async def suites_page(request: Request, viewer: PageViewer) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, Any]:
        return {
            "suites": _by_suite(suite_refs(store, workspace_id)),
            "run_counts": suite_run_counts(store, workspace_id),
        }

    context = await run_in_threadpool(load)
    context.update(title="Suites", nav="suites", json_url="/api/suites")
    return render(request, "suites.html", context, viewer=viewer)


@router.get("/suites/{suite_id}")
async def suite_page(
    request: Request,
    viewer: PageViewer,
    suite_id: SuiteId,
    version: Version = None,
    start: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, Any]:
        refs = suite_refs(store, workspace_id, suite_id)
        if not refs:
            raise NotFoundError(f"no suite {suite_id!r} in this workspace")
        chosen = refs[-1]
        if version:
            matching = [r for r in refs if r.version == version]
            if not matching:
                raise NotFoundError(f"suite {suite_id!r} has no version {version!r} here")
            chosen = matching[-1]
        suite = store.get_suite(chosen.hash)
        runs = list_workspace_runs(store, workspace_id, RunFilter(suite_id=suite_id), limit=RUNS)
        done = list_workspace_runs(
            store, workspace_id, RunFilter(suite_id=suite_id, status="completed"), limit=TREND
        )
        return {
            "refs": refs,
            "ref": chosen,
            "suite": suite,
            "cases": suite_cases(store, chosen, start, CASES),
            "runs": runs,
            "trend": pass_rate_trend([f.run for f in reversed(done)]),
        }

    context = await run_in_threadpool(load)
    ref: SuiteRef = context["ref"]
    total = ref.case_count

    def page_url(at: int) -> str:
        query = {"version": ref.version, **({"start": str(at)} if at else {})}
        return f"/suites/{quote(suite_id)}?{urlencode(query)}"

    context.update(
        title=f"Suite {suite_id}",
        nav="suites",
        json_url=(
            f"/api/suites/{quote(suite_id)}/versions/{quote(ref.version, safe='')}/cases"
            + (f"?offset={start}" if start else "")
        ),
        start=start,
        total=total,
        prev_url=page_url(max(0, start - CASES)) if start > 0 else None,
        next_url=page_url(start + CASES) if start + CASES < total else None,
        page_size=CASES,
    )
    return render(request, "suite.html", context, viewer=viewer)
