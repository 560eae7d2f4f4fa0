"""Live progress of a run: ``GET /api/runs/{id}/events`` as Server-Sent Events.

The stream follows the run's log in the database (``run_events``), not an in-memory
bus, so it works whichever process executes the run — this server's pool, an
``evalbook worker`` elsewhere, a worker that took the run over after a crash. Every
event goes out as ``id:`` (its id in the log), ``event:`` (its kind: ``status``,
``item``, ``finished``) and ``data:`` (JSON). A client that lost the connection resumes
with ``Last-Event-ID`` (browsers send it by themselves) or ``?after=ID`` and gets only
the later events.

The stream ends after ``finished``. A finished run answers its stored events and ends;
one that logged nothing (a CLI run, a run canceled before it started) answers one
``finished`` summary made from its record. Resuming after the last event of a finished
run answers ``204 No Content``, which tells an ``EventSource`` to stop reconnecting.
Comments (``: keepalive``) keep idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event

from evalbook.errors import NotFoundError
from evalbook.executor.events import RunFinished, event_row
from evalbook.executor.progress_log import close_log
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
from evalbook.storage.run_events import Tail, run_owner, tail
from evalbook.storage.store import Store

router = APIRouter(tags=["runs"])

log = get_logger("evalbook.server")

#: The reconnection delay suggested to clients (ms).
RETRY_MS = 2000
#: How long a run may show as finished before its worker's ``finished`` event lands
#: (the worker writes the record, then flushes its buffered events).
FINISH_GRACE_S = 3.0

SSE_EVENT_SCHEMA = event_schema(
    "status: {status, reason?}; started: {case_id, epoch, seq, question, images}; item:"
    " {case_id, epoch, status, score, latency_ms, cached, error, seq, output, attempts,"
    " retry_error}; finished: the run's summary"
)


@router.get(
    "/api/runs/{run_id}/events",
    response_class=Response,
    responses={
        200: {
            "description": "The run's events: `id:` event id, `event:` kind, `data:` JSON.",
            # Per event (how OpenAPI 3.1 tools read an event stream's schema; 3.2 calls
            # it ``itemSchema``).
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        },
        204: {"description": "Resumed after the last event of a finished run."},
    },
)
async def run_events(
    run_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id.")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """The run's progress: stored events first, then new ones as they are logged."""
    store = server_state(request).store
    if await asyncio.to_thread(run_owner, store, run_id) != workspace.id:
        raise NotFoundError(f"no run {run_id!r}")
    cursor = resume_cursor(last_event_id, after)
    first = await asyncio.to_thread(tail, store, run_id, after=cursor or 0, limit=BATCH)
    first = await _closed(store, run_id, first, cursor or 0)
    if cursor is not None and not first.events and _over(first):
        return Response(status_code=204, headers=NO_CACHE)
    return EventSourceResponse(_stream(store, run_id, cursor or 0, first), headers=NO_CACHE)


def _over(look: Tail) -> bool:
    """Whether a run with nothing new in its log will log nothing more."""
    if look.status is None or not look.status.finished:
        return False
    if look.finished_logged or not look.logged:
        return True
    if look.finished_at is None:
        return True
    return (datetime.now(UTC) - look.finished_at).total_seconds() > FINISH_GRACE_S


async def _closed(store: Store, run_id: str, look: Tail, after: int) -> Tail:
    """A finished run whose summary is overdue may lack some cases' events too (its
    executor died with them buffered): add them to the log from its results
    (``progress_log.close_log``) and look again, so a client gets them before the end."""
    if look.events or look.finished_logged or not look.logged or not _over(look):
        return look
    try:
        added = await asyncio.to_thread(close_log, store, run_id)
    except Exception:  # progress, not the record: the summary is still made
        log.warning("run %s: adding its missing events failed", run_id, exc_info=True)
        return look
    if not added:
        return look
    return await asyncio.to_thread(tail, store, run_id, after=after, limit=BATCH)


async def _stream(store: Store, run_id: str, cursor: int, look: Tail) -> AsyncIterator[bytes]:
    yield format_sse_event(retry=RETRY_MS)
    last = cursor
    quiet_since = time.monotonic()
    closed = False
    while True:
        for event in look.events:
            yield frame(event.id, event.kind, event.data)
            last = event.id
            if event.kind == "finished":
                return
        if look.events:
            quiet_since = time.monotonic()
        elif _over(look):
            if not look.finished_logged:  # the run logged no summary: make it from its record
                run = await asyncio.to_thread(store.get_run, run_id)
                kind, data = event_row(RunFinished(run))
                yield frame(last, kind, data)
            return
        elif time.monotonic() - quiet_since >= KEEPALIVE_S:
            yield KEEPALIVE
            quiet_since = time.monotonic()
        if len(look.events) < BATCH:
            await asyncio.sleep(POLL_S)
        try:
            look = await asyncio.to_thread(tail, store, run_id, after=last, limit=BATCH)
        except Exception:  # the client reconnects with Last-Event-ID and loses nothing
            log.warning("run %s: reading its events failed; ending the stream", run_id)
            return
        if not closed and _over(look):
            closed = True
            look = await _closed(store, run_id, look, last)
