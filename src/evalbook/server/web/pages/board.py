"""``/runs``: the active runs board (live over one EventSource per tab) above the
archive; ``/runs/{id}/card``: one card, for the board to add or refresh. JSON twins:
``GET /api/board`` and ``GET /api/runs?finished=true``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.executor.lease import owner_gone
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.cards import card_html
from evalbook.server.web.pages.archive import STATUSES, ArchiveQuery, archive_page, archive_query
from evalbook.server.web.templating import render
from evalbook.storage.activity import active_runs, progress_grid
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.workspace_events import last_event_id

router = APIRouter()

RunIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


@router.get("/runs")
async def runs_page(
    request: Request,
    viewer: PageViewer,
    query: Annotated[ArchiveQuery, Depends(archive_query)],
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, object]:
        cursor = last_event_id(store)
        cards = [
            (f, grid, card_html(f, grid))
            for f in active_runs(store, workspace_id, gone=owner_gone)
            for grid in (progress_grid(store, f.run),)
        ]
        runs, more = archive_page(store, workspace_id, query)
        return {"cursor": cursor, "cards": cards, "archive": runs, "more": more}

    context = await run_in_threadpool(load)
    context.update(
        title="Runs",
        nav="runs",
        json_url=query.api_url() if query.active or query.archived else "/api/board",
        query=query,
        statuses=STATUSES,
    )
    template = "_archive.html" if request.headers.get("HX-Target") == "archive" else "runs.html"
    return render(request, template, context, viewer=viewer)


@router.get("/runs/{run_id}/card")
async def run_card(request: Request, viewer: PageViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, object]:
        found = get_workspace_run(store, workspace_id, run_id, gone=owner_gone)
        return {"item": found, "grid": progress_grid(store, found.run)}

    context = await run_in_threadpool(load)
    context.update(json_url=f"/api/runs/{run_id}")
    return render(request, "_card.html", context, viewer=viewer)
