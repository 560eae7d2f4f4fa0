"""A run's progress log, the ``run_events`` table: the rows, appending them, reading
them, and following the log from any process.

Why the database and not an in-memory broadcast: the server answering an SSE request is
not necessarily the process executing the run (``evalbook worker`` elsewhere, or a worker
that took over after a crash). A worker appends rows in batches
(``worker.events.EventRecorder``; each executor event becomes one row through
``executor.events.event_row``); a stream reads the rows after its last event id.

When there are none, a stream needs to know whether more can come, which the run record
and the log answer together (:func:`tail`): a run still pending or running will log
more; a finished run has said everything once its ``finished`` event is in — or, for a
run that logs nothing (executed by the CLI, canceled before it started), straight away.

Kinds and their data:

- ``status``: ``{status, …}`` — ``running`` when execution starts (with ``total`` and
  ``already_done``), ``running`` with a ``reason`` when a worker shut down and left the
  run for another to resume.
- ``started``: ``{case_id, epoch, seq, question, images}``: the item being asked now
  (a few times a second at most).
- ``item``: ``{case_id, epoch, status, score, latency_ms, cached, error, seq, output,
  attempts, retry_error}`` per case (``output``: its first 200 characters).
- ``finished``: ``{status, score, passed, counts, cost, judge_cost, duration_ms,
  stop_reason}``, last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.bulk import sqlite_datetime
from evalbook.storage.db import to_json
from evalbook.storage.rows import as_utc
from evalbook.storage.sqlite_rows import SQLiteRows
from evalbook.storage.store import Store
from evalbook.storage.stored_values import without_nul

__all__ = [
    "StoredEvent",
    "Tail",
    "append_events",
    "append_items_once",
    "logged_items",
    "read_events",
    "run_owner",
    "tail",
]


@dataclass(frozen=True)
class StoredEvent:
    id: int
    run_id: str
    kind: str
    data: dict[str, Any]
    created_at: datetime


def append_events(store: Store, events: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
    """Append ``(run_id, kind, data)`` events in one transaction, in order."""
    if not events:
        return
    now = datetime.now(UTC)
    # A case's output preview may hold a NUL, which PostgreSQL's jsonb refuses.
    rows = [
        {"run_id": run, "kind": kind, "data": without_nul(data), "created_at": now}
        for run, kind, data in events
    ]
    with store.write() as conn:
        _insert(conn, rows)


#: Events into SQLite many to a statement: a worker appends them while its event loop
#: runs the run (see ``storage/sqlite_rows.py``; through SQLAlchemy, one statement step a row).
_SQLITE_EVENTS = SQLiteRows("INSERT INTO run_events (run_id, kind, data, created_at) VALUES ", 4)


def _insert(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert event rows (the values SQLAlchemy would write: its JSON and time texts)."""
    if conn.dialect.name != "sqlite":
        conn.execute(sa.insert(t.run_events), rows)
        return
    values = (
        (r["run_id"], r["kind"], to_json(r["data"]), sqlite_datetime(r["created_at"])) for r in rows
    )
    _SQLITE_EVENTS.write(conn.connection.cursor(), values)


def read_events(
    store: Store, run_id: str, *, after: int = 0, limit: int = 500
) -> list[StoredEvent]:
    """Events of ``run_id`` with an id above ``after`` (a stream's ``Last-Event-ID``)."""
    e = t.run_events.c
    query = (
        sa.select(e.id, e.run_id, e.kind, e.data, e.created_at)
        .where(e.run_id == run_id, e.id > after)
        .order_by(e.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [StoredEvent(row.id, row.run_id, row.kind, row.data, row.created_at) for row in rows]


def logged_items(store: Store, run_id: str) -> set[tuple[str, int]] | None:
    """The ``(case id, epoch)`` of every ``item`` event of the run; None when the run has
    logged nothing at all (the CLI's runs keep no log)."""
    e = t.run_events.c
    with store.engine.connect() as conn:
        items = _logged(conn, run_id)
        if items:
            return items
        anything = conn.execute(sa.select(e.id).where(e.run_id == run_id).limit(1)).first()
    return set() if anything is not None else None


def _logged(conn: sa.Connection, run_id: str) -> set[tuple[str, int]]:
    e = t.run_events.c
    query = sa.select(e.data["case_id"].as_string(), e.data["epoch"].as_integer()).where(
        e.run_id == run_id, e.kind == "item"
    )
    return {(str(case), int(epoch)) for case, epoch in conn.execute(query)}


def append_items_once(store: Store, run_id: str, items: Sequence[dict[str, Any]]) -> int:
    """Append the ``item`` events of ``items`` whose ``(case_id, epoch)`` the log does not
    hold yet, in order, in one transaction that holds the run's row: two readers closing
    the same log at once add each event once. Returns how many were added."""
    with store.write() as conn:
        # Serialises closers on PostgreSQL; SQLite's write transaction already does.
        conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id).with_for_update())
        logged = _logged(conn, run_id)
        now = datetime.now(UTC)
        rows = [
            {"run_id": run_id, "kind": "item", "data": without_nul(data), "created_at": now}
            for data in items
            if (str(data["case_id"]), int(data["epoch"])) not in logged
        ]
        if rows:
            _insert(conn, rows)
    return len(rows)


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
    if finished is not None and finished.id > after:
        # The summary landed between the first read and this look: read it now, or a
        # stream that sees "finished, summary logged" and nothing new would end without it.
        return Tail(read_events(store, run_id, after=after, limit=limit))
    finished_at = as_utc(run.finished_at)
    return Tail(
        events=[],
        status=status,
        finished_at=finished_at,
        logged=logged is not None,
        finished_logged=finished is not None,
    )
