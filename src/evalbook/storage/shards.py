"""The shards of a run executed by a fleet: ranges of plan items, each held under a lease.

A shard moves ``queued → running → done | canceled``, and back to ``queued`` when its
worker hands it back (graceful stop) or its lease ran out (the worker died: the reaper
re-queues it). Every move is a conditional update, so two workers never hold one shard,
and a message delivered twice finds the shard held or settled and does nothing.

The run finishes exactly once: row ``idx = -1`` is its finish, ``waiting`` until some
worker's conditional update moves it to ``running`` at a moment when every shard is
settled (``done`` or ``canceled``); that worker aggregates and marks the finish ``done``.
A finisher that died holds an expired lease, and the reaper puts the finish back to
``waiting`` for the next one.

A shard whose message the broker lost would stay ``queued`` for ever: the reaper also
returns the shards ``queued`` for longer than a bound (``resend_s``), to be sent again;
a duplicate message finds the shard held or settled and does nothing.

A sharded run with ``max_cost`` shares it among its shards: its finish row's ``budget``
counts what was handed out to them (:func:`take_budget`, one atomic update: every shard
draws from the run's one budget). ``runs.cost`` is what the run spent: the results'
writer adds each batch's cost as it records it, and the finish writes the run's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = [
    "FINISH",
    "Shard",
    "auto_shards",
    "budget_handed",
    "cancel_queued",
    "cancel_requested_runs",
    "claim",
    "claim_finish",
    "create",
    "finish_done",
    "plan",
    "reap",
    "renew",
    "settle",
    "shards_of",
    "submit",
    "take_budget",
]

FINISH = -1
QUEUED, RUNNING, DONE, CANCELED, WAITING = "queued", "running", "done", "canceled", "waiting"
SETTLED = (DONE, CANCELED)

_s = t.run_shards.c


@dataclass(frozen=True)
class Shard:
    run_id: str
    idx: int
    seq_start: int
    seq_stop: int
    status: str
    owner: str | None
    deliveries: int
    stop_reason: str | None


_FIELDS = ("run_id", "idx", "seq_start", "seq_stop", "status", "owner", "deliveries", "stop_reason")


def _now() -> datetime:
    return datetime.now(UTC)


#: Items per shard under ``--shards auto``: a few minutes of work at typical latencies
#: (500 items at concurrency 8 and 2 s a call take about two minutes).
AUTO_ITEMS = 500


def auto_shards(items: int, workers_hint: int = 1) -> int:
    """Shards for ``items``: about ``AUTO_ITEMS`` each, at least ``workers_hint``."""
    return max(1, min(items, max(workers_hint, -(-items // AUTO_ITEMS))))


def plan(items: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous ranges covering ``items`` plan positions, sizes within one."""
    shards = max(1, min(shards, items)) if items else 1
    size, extra = divmod(items, shards)
    out, start = [], 0
    for i in range(shards):
        stop = start + size + (1 if i < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def submit(
    store: Store,
    run_id: str,
    ranges: list[tuple[int, int]],
    *,
    fresh: bool = True,
    idempotency_key: str | None = None,
) -> None:
    """Mark the run ``running`` and record its shards, in one transaction. ``fresh``: a
    new run; else a finished one sent again (its old shards replaced, its cancel and its
    end cleared). The run is never put on the database queue: a database worker sharing
    the database must not execute it as a whole beside the shards."""
    now = _now()
    r = t.runs.c
    values: dict[str, object] = {
        "status": "running",
        "started_at": sa.func.coalesce(r.started_at, now),
    }
    if idempotency_key is not None:
        values["idempotency_key"] = idempotency_key
    if not fresh:
        # The shards' budget counter (their finish row) starts again, as a resumed run's
        # budget does; the run's cost stays what its recorded results spent.
        values.update(cancel_requested=False, finished_at=None, stop_reason=None)
    with store.write() as conn:
        conn.execute(sa.update(t.runs).where(r.id == run_id).values(**values))
        if not fresh:
            conn.execute(sa.delete(t.run_shards).where(_s.run_id == run_id))
        conn.execute(t.run_shards.insert(), _rows(run_id, ranges, now))


def create(store: Store, run_id: str, ranges: list[tuple[int, int]]) -> None:
    """Record a run's shards (all ``queued``) and its finish (``waiting``)."""
    with store.write() as conn:
        conn.execute(t.run_shards.insert(), _rows(run_id, ranges, _now()))


def _rows(run_id: str, ranges: list[tuple[int, int]], now: datetime) -> list[dict[str, object]]:
    rows = [
        {"run_id": run_id, "idx": i, "seq_start": a, "seq_stop": b, "status": QUEUED}
        for i, (a, b) in enumerate(ranges)
    ]
    rows.append({"run_id": run_id, "idx": FINISH, "seq_start": 0, "seq_stop": 0})
    rows[-1]["status"] = WAITING
    return [{**row, "updated_at": now} for row in rows]


def shards_of(store: Store, run_id: str) -> list[Shard]:
    """The run's shards in order (the finish row left out)."""
    query = sa.select(t.run_shards).where(_s.run_id == run_id, _s.idx >= 0).order_by(_s.idx)
    with store.engine.connect() as conn:
        return [Shard(**{name: getattr(r, name) for name in _FIELDS}) for r in conn.execute(query)]


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        _s.status == QUEUED,
        sa.and_(_s.status == RUNNING, _s.lease_expires_at < now),
    )


def claim(store: Store, run_id: str, idx: int, owner: str, *, lease_s: float) -> Shard | None:
    """Hold shard ``idx`` when it is queued (or its holder's lease ran out); None when it is
    held by a live worker or settled: a duplicate delivery then does nothing."""
    now = _now()
    with store.write() as conn:
        taken = conn.execute(
            sa.update(t.run_shards)
            .where(_s.run_id == run_id, _s.idx == idx, _free(now))
            .values(
                status=RUNNING,
                owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                deliveries=_s.deliveries + 1,
                updated_at=now,
            )
        )
        if taken.rowcount != 1:
            return None
    return next(s for s in shards_of(store, run_id) if s.idx == idx)


def renew(store: Store, run_id: str, idx: int, owner: str, *, lease_s: float) -> bool:
    """Extend the lease; False when it was lost (the caller must stop)."""
    now = _now()
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.run_shards)
            .where(_s.run_id == run_id, _s.idx == idx, _s.owner == owner, _s.status == RUNNING)
            .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
        )
    return result.rowcount == 1


def settle(
    store: Store, run_id: str, idx: int, owner: str, status: str, reason: str | None = None
) -> bool:
    """The holder's last word on its shard: ``done``, ``canceled``, or ``queued`` (handed
    back at a graceful stop). False when the shard was no longer this owner's."""
    values: dict[str, object] = {"status": status, "updated_at": _now(), "stop_reason": reason}
    if status == QUEUED:
        values.update(owner=None, lease_expires_at=None)
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.run_shards)
            .where(_s.run_id == run_id, _s.idx == idx, _s.owner == owner, _s.status == RUNNING)
            .values(**values)
        )
    return result.rowcount == 1


def cancel_queued(store: Store, run_id: str, reason: str) -> int:
    """Cancel the run's shards nobody holds (the held ones stop at their next heartbeat)."""
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.run_shards)
            .where(_s.run_id == run_id, _s.idx >= 0, _s.status == QUEUED)
            .values(status=CANCELED, stop_reason=reason, updated_at=_now())
        )
    return int(result.rowcount)


def reap(store: Store, *, resend_s: float = 600.0) -> tuple[list[tuple[str, int]], list[str]]:
    """Put back what dead workers held: shards whose lease ran out go back to ``queued``
    (returned, to be sent again), finishes back to ``waiting`` (their runs returned).
    Shards ``queued`` for more than ``resend_s`` (their message may be lost) are returned
    too, to be sent again: each once per ``resend_s``, whichever reaper takes it."""
    now = _now()
    expired = sa.and_(_s.status == RUNNING, _s.lease_expires_at < now)
    stale = sa.and_(
        _s.status == QUEUED, _s.idx >= 0, _s.updated_at < now - timedelta(seconds=resend_s)
    )
    with store.write() as conn:
        lost = conn.execute(
            sa.select(_s.run_id, _s.idx).where(stale).order_by(_s.run_id, _s.idx)
        ).all()
        resend = []
        for run_id, idx in lost:
            again = conn.execute(
                sa.update(t.run_shards)
                .where(_s.run_id == run_id, _s.idx == idx, stale)
                .values(updated_at=now)
            )
            if again.rowcount == 1:
                resend.append((run_id, idx))
        rows = conn.execute(
            sa.select(_s.run_id, _s.idx).where(expired).order_by(_s.run_id, _s.idx)
        ).all()
        shards, finishes = [], []
        for run_id, idx in rows:
            back = conn.execute(
                sa.update(t.run_shards)
                .where(_s.run_id == run_id, _s.idx == idx, expired)
                .values(
                    status=WAITING if idx == FINISH else QUEUED,
                    owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            if back.rowcount == 1:
                (finishes.append(run_id) if idx == FINISH else shards.append((run_id, idx)))
    return shards + resend, finishes


def claim_finish(store: Store, run_id: str, owner: str, *, lease_s: float) -> bool:
    """True for exactly one caller, once every shard of the run is settled."""
    now = _now()
    others = t.run_shards.alias("others")
    unsettled = sa.exists().where(
        others.c.run_id == run_id, others.c.idx >= 0, others.c.status.not_in(SETTLED)
    )
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.run_shards)
            .where(_s.run_id == run_id, _s.idx == FINISH, _s.status == WAITING, ~unsettled)
            .values(
                status=RUNNING,
                owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                updated_at=now,
            )
        )
    return result.rowcount == 1


def finish_done(store: Store, run_id: str, owner: str) -> None:
    settle(store, run_id, FINISH, owner, DONE)


def cancel_requested_runs(store: Store) -> list[str]:
    """Runs whose cancel was requested and whose finish still waits: their queued shards
    are canceled now, and the runs returned, to be finished once the held ones stop."""
    r = t.runs.c
    query = (
        sa.select(_s.run_id)
        .join(t.runs, r.id == _s.run_id)
        .where(_s.idx == FINISH, _s.status == WAITING, r.cancel_requested.is_(True))
    )
    with store.write() as conn:
        ids = list(conn.execute(query).scalars())
        for run_id in ids:
            conn.execute(
                sa.update(t.run_shards)
                .where(_s.run_id == run_id, _s.idx >= 0, _s.status == QUEUED)
                .values(status=CANCELED, stop_reason=None, updated_at=_now())
            )
    return ids


def take_budget(store: Store, run_id: str, want: float, max_cost: float | None) -> float:
    """Hand out up to ``want`` of the run's ``max_cost`` to a shard; the amount handed out
    (0 when the budget is spent). A negative ``want`` (with ``max_cost`` None) gives an
    unspent allowance back, or charges an overrun. The read and the update are one
    transaction holding the run's finish row (SQLite: the database), so shards never
    together take more than ``max_cost``."""
    counter = (_s.run_id == run_id) & (_s.idx == FINISH)
    with store.write() as conn:
        row = sa.select(_s.budget).where(counter).with_for_update()
        handed = float(conn.execute(row).scalar() or 0.0)
        grant = want if max_cost is None else max(0.0, min(want, max_cost - handed))
        if grant:
            conn.execute(sa.update(t.run_shards).where(counter).values(budget=handed + grant))
    return grant


def budget_handed(store: Store, run_id: str) -> float:
    """What the run's shards hold of its ``max_cost`` (given back when unspent)."""
    query = sa.select(_s.budget).where(_s.run_id == run_id, _s.idx == FINISH)
    with store.read() as conn:
        return float(conn.execute(query).scalar() or 0.0)
