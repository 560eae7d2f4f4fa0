"""What the API changes on a run besides executing it: archive, re-queue, and dropping a
duplicate that lost an idempotency race before anyone saw it.

A finished run is a permanent record: these touch only the archive mark and the queue
columns (and, for a re-queue, the status the worker will move on from).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from evalbook.core.run import RunRecord, RunStatus
from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["discard_unqueued", "requeue", "resume_refusal", "set_archived"]


def set_archived(store: Store, run_id: str, archived: bool) -> None:
    """Archive (hide from the default lists) or bring back a run."""
    value = datetime.now(UTC) if archived else None
    c = t.runs.c
    with store.write() as conn:
        q = sa.update(t.runs).where(c.id == run_id)
        if archived:
            q = q.where(c.archived_at.is_(None))  # keep the first archive date
        conn.execute(q.values(archived_at=value))


def resume_refusal(store: Store, run: RunRecord) -> str | None:
    """Why ``run`` cannot be resumed now (``None``: it can): it is not finished, it is
    archived, it re-scored another run, or it completed with every case."""
    if not run.status.finished:
        return f"run {run.id} is {run.status.value}; nothing to resume"
    if run.archived_at is not None:
        return f"run {run.id} is archived; unarchive it first"
    if run.rescored_from is not None:
        return f"run {run.id} re-scored another run; it has no model calls"
    complete = run.status is RunStatus.completed and run.counts.errored == 0
    if complete and len(store.result_statuses(run.id)) >= run.counts.total:
        return f"run {run.id} completed with every case; nothing to do"
    return None


def requeue(store: Store, run_id: str) -> bool:
    """Put a finished run back on the queue so that a worker resumes it (the executor
    re-runs only missing and errored items). False when the run is not finished or a
    worker still holds it."""
    c = t.runs.c
    finished = [s.value for s in RunStatus if s.finished]
    with store.write() as conn:
        updated = conn.execute(
            sa.update(t.runs)
            .where(c.id == run_id, c.status.in_(finished))
            .values(
                status=RunStatus.pending.value,
                queued_at=datetime.now(UTC),
                cancel_requested=False,
                lease_owner=None,
                lease_expires_at=None,
                finished_at=None,
                stop_reason=None,
            )
        )
    return updated.rowcount == 1


def discard_unqueued(store: Store, run_id: str) -> None:
    """Delete a run that was recorded but never queued and has no results: the loser of
    two concurrent requests with one idempotency key (the winner's run is the record)."""
    c = t.runs.c
    no_results = ~sa.exists(sa.select(t.results.c.id).where(t.results.c.run_id == run_id))
    with store.write() as conn:
        conn.execute(sa.delete(t.runs).where(c.id == run_id, c.queued_at.is_(None), no_results))
