"""Following a run's progress log (``run_events``) from any process.

A stream reads the events after its last id; when there are none it needs to know
whether more can come, which the run record and the log answer together: a run still
pending or running will log more; a finished run has said everything once its
``finished`` event is in — or, for a run that logs nothing (executed by the CLI,
canceled before it started), straight away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.queue import StoredEvent, read_events
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = ["Tail", "run_owner", "tail"]


@dataclass(frozen=True)
class Tail:
    """One look at a run's log: the next ``events`` after a cursor, and — only read when
    there were none — the run's state."""

    events: list[StoredEvent]
    status: RunStatus | None = None
    finished_at: datetime | None = None
    #: Whether the run has logged anything at all, and its ``finished`` event (read only
    #: once the run is finished).
    logged: bool = False
    finished_logged: bool = False


def run_owner(store: Store, run_id: str) -> str:
    """The workspace id of a run (NotFoundError when there is no such run)."""
    query = sa.select(t.runs.c.workspace_id).where(t.runs.c.id == run_id)
    with store.engine.connect() as conn:
        owner = conn.execute(query).scalar_one_or_none()
    if owner is None:
        raise NotFoundError(f"no run {run_id!r}")
    return str(owner)


def tail(store: Store, run_id: str, *, after: int, limit: int = 500) -> Tail:
    """Events of ``run_id`` after id ``after`` (at most ``limit``); when there are none,
    the run's status and what its log holds."""
    events = read_events(store, run_id, after=after, limit=limit)
    if events:
        return Tail(events)
    r, e = t.runs.c, t.run_events.c
    with store.engine.connect() as conn:
        run = conn.execute(sa.select(r.status, r.finished_at).where(r.id == run_id)).first()
        if run is None:
            raise NotFoundError(f"no run {run_id!r}")
        status = RunStatus(run.status)
        if not status.finished:  # more will come: the log needs no closer look
            return Tail(events=[], status=status)
        logged = conn.execute(sa.select(e.id).where(e.run_id == run_id).limit(1)).first()
        finished = conn.execute(
            sa.select(e.id).where(e.run_id == run_id, e.kind == "finished").limit(1)
        ).first()
    finished_at = as_utc(run.finished_at)
    return Tail(
        events=[],
        status=status,
        finished_at=finished_at,
        logged=logged is not None,
        finished_logged=finished is not None,
    )
