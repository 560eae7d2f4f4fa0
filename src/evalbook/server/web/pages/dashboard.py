"""``/``: what is happening in this workspace now (seed 002's Dashboard). JSON twin:
``GET /api/dashboard``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.executor.lease import owner_gone
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.cards import card_html
from evalbook.server.web.templating import render
from evalbook.storage.activity import (
    active_runs,
    compare_readiness,
    newest_failure,
    progress_grid,
    recent_completions,
)
from evalbook.storage.store import Store
from evalbook.storage.workspace_events import last_event_id

router = APIRouter()


def _context(store: Store, workspace_id: str) -> dict[str, object]:
    cursor = last_event_id(store)
    active = list(active_runs(store, workspace_id, recent_s=0, gone=owner_gone))
    return {
        "cursor": cursor,
        "cards": [
            (f, grid, card_html(f, grid)) for f in active for grid in (progress_grid(store, f.run),)
        ],
        "recent": recent_completions(store, workspace_id),
        "readiness": compare_readiness(store, workspace_id),
        "failure": newest_failure(store, workspace_id),
    }


@router.get("/")
async def dashboard(request: Request, viewer: PageViewer) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    context = await run_in_threadpool(_context, store, viewer.workspace.id)
    latest = context["recent"]
    compare_latest = None
    if isinstance(latest, list) and len(latest) >= 2:
        compare_latest = f"/compare?runs={latest[1].id},{latest[0].id}"
    context.update(
        title="Dashboard", nav="dashboard", json_url="/api/dashboard", compare_latest=compare_latest
    )
    return render(request, "dashboard.html", context, viewer=viewer)
