"""Every active run of the workspace over one connection: ``GET /api/events``.

A browser tab watching the board holds this one stream however many runs are active
(browsers allow six connections per host; one per run would starve the page). Each
frame is one event of the log: ``id:`` its id (one sequence for all runs), ``event:``
its kind (``status``, ``started``, ``item``, ``finished``), ``data:`` its JSON with the
``run_id`` added. Resume with ``Last-Event-ID`` (an ``EventSource`` sends it by itself)
or ``?after=ID``: nothing in between is lost, whichever runs it belonged to. Without
either, the stream starts at the newest event: read the state first (``GET /api/board``
answers ``last_event_id``), then follow from there.

The stream never ends by itself while the client listens, except after
``ServerSettings.stream_max_s`` seconds, when it closes so that long-lived connections
are recycled; clients reconnect and resume.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event

from evalbook.plain_text import get_logger
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.sse import (
    BATCH,
    KEEPALIVE,
    KEEPALIVE_S,
    MAX_ID,
    NO_CACHE,
    POLL_S,
    event_schema,
    frame,
    resume_cursor,
)
from evalbook.server.state import server_state
from evalbook.storage.store import Store
from evalbook.storage.workspace_events import last_event_id, workspace_events

router = APIRouter(tags=["activity"])

log = get_logger("evalbook.server")

RETRY_MS = 1000
SSE_EVENT_SCHEMA = event_schema("The event's data (as GET /api/runs/{id}/events) plus run_id")


@router.get(
    "/api/events",
    response_class=Response,
    responses={
        200: {
            "description": "Events of every run of the workspace: `id:`, `event:`, `data:`.",
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        }
    },
)
async def workspace_stream(
    request: Request,
    workspace: CurrentWorkspace,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id.")
    ] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The workspace's run events as they are logged, all runs in one stream."""
    state = server_state(request)
    cursor = resume_cursor(last_event_id_header, after)
    if cursor is None:
        cursor = await asyncio.to_thread(last_event_id, state.store)
    stream = _stream(state.store, workspace.id, cursor, state.settings.stream_max_s)
    return EventSourceResponse(stream, headers=NO_CACHE)


async def _stream(
    store: Store, workspace_id: str, cursor: int, max_s: float
) -> AsyncIterator[bytes]:
    yield format_sse_event(retry=RETRY_MS)
    # An empty event carrying the cursor: a client that reconnects at once resumes here
    # even if nothing happened in between.
    yield format_sse_event(comment="ready", id=str(cursor))
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < max_s:
        try:
            events = await asyncio.to_thread(
                workspace_events, store, workspace_id, after=cursor, limit=BATCH
            )
        except Exception:  # the client reconnects with Last-Event-ID and loses nothing
            log.warning("workspace %s: reading events failed; ending the stream", workspace_id)
            return
        for event in events:
            yield frame(event.id, event.kind, {"run_id": event.run_id, **event.data})
            cursor = event.id
        now = time.monotonic()
        if events:
            quiet_since = now
        elif now - quiet_since >= KEEPALIVE_S:
            yield KEEPALIVE
            quiet_since = now
        if len(events) < BATCH:
            await asyncio.sleep(POLL_S)
