"""Queued runs and a pool running in the background, for the worker tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunOptions
from evalbook.core.suite import Suite
from evalbook.executor.launch import prepare_run
from evalbook.storage import queue, tables
from evalbook.storage.store import Store
from evalbook.worker import WorkerPool


def queued_run(store: Store, suite: Suite, **options: Any) -> str:
    run = prepare_run(store, suite, options=RunOptions(**options)).run
    queue.mark_queued(store, run.id)
    return run.id


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_pool(store: Store, **kwargs: Any) -> AsyncIterator[WorkerPool]:
    """A pool with fast polls and short leases, stopped gracefully at the end."""
    kwargs = {"lease_s": 1.5, "poll_s": 0.05, **kwargs}
    pool = WorkerPool(store, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    try:
        yield pool
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def result_rows(store: Store, run_id: str) -> list[tuple[str, int]]:
    """Every stored ``(case_id, epoch)`` row of a run, duplicates included."""
    r = tables.results.c
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(r.case_id, r.epoch).where(r.run_id == run_id)).all()
    return [(row.case_id, row.epoch) for row in rows]


def lease_of(store: Store, run_id: str) -> tuple[str | None, Any]:
    r = tables.runs.c
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(r.lease_owner, r.lease_expires_at).where(r.id == run_id)).one()
    return row.lease_owner, row.lease_expires_at
