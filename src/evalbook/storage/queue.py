"""The run queue, in the database: submit, claim with a lease, renew, cancel, events.

Why the database and not an in-memory queue: a queued run must survive the server
dying, and any process sharing the database (a second server, ``evalbook worker``) may
execute it. A worker *claims* a run by writing its name and a lease expiry; it renews
the lease while it works. A run whose lease expired was being executed by a worker that
died, so the next claim picks it up again and the executor resumes it (finished cases
are skipped by identity, so nothing is lost or duplicated).

Claims are exclusive: on PostgreSQL the candidate row is locked ``FOR UPDATE SKIP
LOCKED``; on SQLite the write transaction (``BEGIN IMMEDIATE``) already serialises
claimers. Either way the update re-checks the lease, so two claimers never both win.

Only runs submitted to the queue (``queued_at`` set) are ever claimed: a run the CLI is
executing in-process holds no lease and must not be taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "StoredEvent",
    "append_events",
    "cancel_requested",
    "claim",
    "find_idempotent",
    "mark_queued",
    "read_events",
    "release",
    "renew",
    "request_cancel",
]

_ACTIVE = (RunStatus.pending.value, RunStatus.running.value)


def _now() -> datetime:
    return datetime.now(UTC)


def mark_queued(store: Store, run_id: str, *, idempotency_key: str | None = None) -> None:
    """Put a recorded ``pending`` run on the queue (with the key of the request that made
    it, so a retried request finds it instead of making another)."""
    values: dict[str, Any] = {"queued_at": _now()}
    if idempotency_key is not None:
        values["idempotency_key"] = idempotency_key
    with store._writer.begin() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(**values))


def find_idempotent(store: Store, workspace_id: str, key: str) -> str | None:
    """The run a previous request with this ``Idempotency-Key`` created, if any."""
    r = t.runs.c
    query = sa.select(r.id).where(r.workspace_id == workspace_id, r.idempotency_key == key)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def claim(store: Store, owner: str, *, lease_s: float) -> str | None:
    """Take the oldest queued run nobody holds (or whose holder's lease ran out)."""
    r = t.runs.c
    now = _now()
    free = sa.or_(r.lease_expires_at.is_(None), r.lease_expires_at < now)
    candidates = (
        sa.select(r.id)
        .where(
            r.queued_at.is_not(None),
            r.status.in_(_ACTIVE),
            r.archived_at.is_(None),
            free,
        )
        .order_by(r.queued_at, r.id)
        .limit(1)
    )
    if store.dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    with store._writer.begin() as conn:
        run_id = conn.execute(candidates).scalar_one_or_none()
        if run_id is None:
            return None
        taken = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, free)
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
        )
        return run_id if taken.rowcount == 1 else None


def renew(store: Store, run_id: str, owner: str, *, lease_s: float) -> bool:
    """Extend ``owner``'s lease; False when the lease was lost (another worker took the
    run after this one stalled past its lease) — the caller must stop working on it."""
    r = t.runs.c
    with store._writer.begin() as conn:
        result = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, r.lease_owner == owner)
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s))
        )
    return result.rowcount == 1


def release(store: Store, run_id: str, owner: str) -> None:
    """Give the run up (finished, or shutting down: another worker may resume it now)."""
    r = t.runs.c
    with store._writer.begin() as conn:
        conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, r.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


def request_cancel(store: Store, run_id: str) -> RunStatus:
    """Cancel a run: at once when nobody has started it, else by asking its worker (which
    stops launching, lets finished results land, and marks it ``canceled``).

    Returns the status the run has after the call; a finished run is left as it was.
    """
    r = t.runs.c
    now = _now()
    with store._writer.begin() as conn:
        row = conn.execute(
            sa.select(r.status, r.lease_owner, r.lease_expires_at).where(r.id == run_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no run {run_id!r}")
        status = RunStatus(row.status)
        if status.finished:
            return status
        expires = as_utc(row.lease_expires_at)
        held = row.lease_owner is not None and expires is not None and expires > now
        if status is RunStatus.pending and not held:
            conn.execute(
                sa.update(t.runs)
                .where(r.id == run_id)
                .values(
                    status=RunStatus.canceled.value,
                    stop_reason="canceled before it started",
                    finished_at=now,
                    cancel_requested=True,
                )
            )
            return RunStatus.canceled
        conn.execute(sa.update(t.runs).where(r.id == run_id).values(cancel_requested=True))
        return status


def cancel_requested(store: Store, run_id: str) -> bool:
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(t.runs.c.cancel_requested).where(t.runs.c.id == run_id)
        ).scalar_one_or_none()
    return bool(value)


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
    now = _now()
    rows = [
        {"run_id": run, "kind": kind, "data": data, "created_at": now} for run, kind, data in events
    ]
    with store._writer.begin() as conn:
        conn.execute(sa.insert(t.run_events), rows)


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
