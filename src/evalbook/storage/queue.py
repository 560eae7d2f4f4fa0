"""The run queue, in the database: submit, claim with a lease, renew, cancel.

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

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "cancel_requested",
    "claim",
    "find_idempotent",
    "hold",
    "interrupted",
    "is_interrupted",
    "lease_owner",
    "mark_queued",
    "queue_columns",
    "release",
    "renew",
    "request_cancel",
    "take_over",
]

_ACTIVE = (RunStatus.pending.value, RunStatus.running.value)


def _now() -> datetime:
    return datetime.now(UTC)


def queue_columns(idempotency_key: str | None = None) -> dict[str, Any]:
    """The ``runs`` columns that put a run on the queue (with the key of the request that
    made it, so a retried request finds it instead of making another): set on a recorded
    run by :func:`mark_queued`, or given to the insert of a run recorded queued."""
    values: dict[str, Any] = {"queued_at": _now()}
    if idempotency_key is not None:
        values["idempotency_key"] = idempotency_key
    return values


def mark_queued(store: Store, run_id: str, *, idempotency_key: str | None = None) -> None:
    """Put a recorded ``pending`` run on the queue (see :func:`queue_columns`)."""
    values = queue_columns(idempotency_key)
    with store.write() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(**values))


def find_idempotent(store: Store, workspace_id: str, key: str) -> str | None:
    """The run a previous request with this ``Idempotency-Key`` created, if any."""
    r = t.runs.c
    query = sa.select(r.id).where(r.workspace_id == workspace_id, r.idempotency_key == key)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def claim(store: Store, owner: str, *, lease_s: float, holding: Collection[str] = ()) -> str | None:
    """Take the oldest queued run nobody holds (or whose holder's lease ran out), other
    than the runs in ``holding``: those the caller executes already, whose lease may have
    run out while a write stalled — claiming one again would execute it twice."""
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
            *([r.id.not_in(list(holding))] if holding else []),
        )
        .order_by(r.queued_at, r.id)
        .limit(1)
    )
    if store.dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    with store.write() as conn:
        run_id = conn.execute(candidates).scalar_one_or_none()
        if run_id is None:
            return None
        taken = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, free)
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
        )
        return run_id if taken.rowcount == 1 else None


def hold(store: Store, run_id: str, owner: str, *, lease_s: float) -> bool:
    """Take the lease of a run this process executes itself (the CLI, ``evalbook.run``).

    False when another owner holds a lease that has not expired: that process is still
    executing the run, and two executions of one run must not overlap."""
    r = t.runs.c
    now = _now()
    free = sa.or_(r.lease_owner.is_(None), r.lease_owner == owner, r.lease_expires_at < now)
    with store.write() as conn:
        taken = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, free)
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
        )
    return taken.rowcount == 1


def is_interrupted(
    row: Any, *, now: datetime | None = None, gone: Callable[[str], bool] | None = None
) -> bool:
    """Whether one ``runs`` row (with its ``status``, ``queued_at``, ``lease_owner`` and
    ``lease_expires_at``) is an active run whose executing process is gone: run in a
    process (not queued for a worker) whose lease expired, or whose owner ``gone(owner)``
    says is dead. The run lists read it from rows they already hold, without a query."""
    if row.status not in _ACTIVE or row.queued_at is not None or row.lease_owner is None:
        return False
    expires = as_utc(row.lease_expires_at)
    if expires is not None and expires < (now or _now()):
        return True
    return gone is not None and gone(row.lease_owner)


def interrupted(
    store: Store, run_ids: Sequence[str], *, gone: Callable[[str], bool] | None = None
) -> set[str]:
    """Which of ``run_ids`` are interrupted (:func:`is_interrupted`). They stay as
    recorded until a user resumes (``evalbook resume``) or cancels (``evalbook runs
    cancel``, the API, the inspector) them."""
    if not run_ids:
        return set()
    r = t.runs.c
    query = sa.select(r.id, r.status, r.queued_at, r.lease_owner, r.lease_expires_at).where(
        r.id.in_(list(run_ids)),
        r.status.in_(_ACTIVE),
        r.queued_at.is_(None),
        r.lease_owner.is_not(None),
    )
    now = _now()
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {row.id for row in rows if is_interrupted(row, now=now, gone=gone)}


def take_over(store: Store, run_id: str, old_owner: str, owner: str, *, lease_s: float) -> bool:
    """Take the lease from ``old_owner`` (known to be gone) unless someone else did first."""
    r = t.runs.c
    with store.write() as conn:
        taken = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, r.lease_owner == old_owner)
            .values(lease_owner=owner, lease_expires_at=_now() + timedelta(seconds=lease_s))
        )
    return taken.rowcount == 1


def lease_owner(store: Store, run_id: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(
            sa.select(t.runs.c.lease_owner).where(t.runs.c.id == run_id)
        ).scalar_one_or_none()


def renew(store: Store, run_id: str, owner: str, *, lease_s: float) -> bool:
    """Extend ``owner``'s lease; False when the lease was lost (another worker took the
    run after this one stalled past its lease) — the caller must stop working on it."""
    r = t.runs.c
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, r.lease_owner == owner)
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s))
        )
    return result.rowcount == 1


def release(store: Store, run_id: str, owner: str) -> None:
    """Give the run up (finished, or shutting down: another worker may resume it now)."""
    r = t.runs.c
    with store.write() as conn:
        conn.execute(
            sa.update(t.runs)
            .where(r.id == run_id, r.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )


def request_cancel(store: Store, run_id: str) -> RunStatus:
    """Cancel a run: at once when nobody has started it, else by asking its executor (which
    stops launching, lets finished results land, and marks it ``canceled``). A run whose
    process is gone is ended by ``executor.lease.cancel_run``, which summarises it.

    Returns the status the run has after the call; a finished run is left as it was.
    """
    r = t.runs.c
    now = _now()
    with store.write() as conn:
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
