"""Stopping a run mid-way: a user's cancel, a graceful shutdown, a lease lost to another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.core.result import ResultStatus
from evalbook.core.run import RunStatus
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.storage import queue, run_events, tables
from evalbook.storage.store import Store

from ..executor.helpers import expected_yes, server_key, yes_no_suite
from .helpers import lease_of, queued_run, result_rows, running_pool, wait_for

SLOW = "[[latency=20]][[answer={{ answer }}]] question {{ i }}"
N = 200
CONCURRENCY = 4


def _recorded(store: Store, run_id: str) -> int:
    return len(store.result_statuses(run_id))


def _keys(store: Store, run_id: str) -> dict[str, str]:
    """case id → the test server's key of its request."""
    return {r.case_id: server_key(r.prompt or "") for r in store.iter_results(run_id)}


async def test_cancel_mid_run_leaves_a_consistent_canceled_run(store: Store, server: Any) -> None:
    run_id = queued_run(
        store, yes_no_suite(N, server.base_url, prompt=SLOW), concurrency=CONCURRENCY
    )
    async with running_pool(store) as pool:
        await wait_for(lambda: _recorded(store, run_id) >= 20)
        assert DatabaseDispatcher(store, wake=pool.wake).cancel(run_id) is RunStatus.running
        await wait_for(lambda: pool.executing == [], timeout=5)
        after = queued_run(store, yes_no_suite(3, server.base_url, suite_id="after"))
        await wait_for(lambda: store.get_run(after).status.finished)  # the pool goes on
    run = store.get_run(run_id)
    assert run.status is RunStatus.canceled and run.stop_reason == "canceled by the user"
    rows = result_rows(store, run_id)
    assert len(rows) == len(set(rows)) == run.counts.total
    assert 20 <= run.counts.total < N
    statuses = list(store.result_statuses(run_id).values())
    assert run.counts.passed == statuses.count(ResultStatus.passed.value)
    assert run.counts.failed == statuses.count(ResultStatus.failed.value)
    assert run.counts.errored == 0 and run.passed is False
    assert lease_of(store, run_id) == (None, None)
    events = run_events.read_events(store, run_id, limit=1000)
    assert events[-1].kind == "finished" and events[-1].data["status"] == "canceled"
    assert events[-1].data["stop_reason"] == "canceled by the user"
    assert len([e for e in events if e.kind == "item"]) == run.counts.total
    assert store.get_run(after).status is RunStatus.completed


async def test_graceful_shutdown_leaves_the_run_to_be_resumed(store: Store, server: Any) -> None:
    run_id = queued_run(
        store, yes_no_suite(N, server.base_url, prompt=SLOW), concurrency=CONCURRENCY
    )
    async with running_pool(store):
        await wait_for(lambda: _recorded(store, run_id) >= 30)
    run = store.get_run(run_id)
    assert run.status is RunStatus.running and run.stop_reason is None  # not canceled
    assert lease_of(store, run_id) == (None, None)  # free for the next worker at once
    assert not queue.cancel_requested(store, run_id)
    kept = _keys(store, run_id)
    assert 30 <= len(kept) < N
    last = run_events.read_events(store, run_id, limit=1000)[-1]
    assert last.kind == "status" and last.data["status"] == "running"
    assert "shut down" in last.data["reason"]

    async with running_pool(store):
        await wait_for(lambda: store.get_run(run_id).status.finished)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed and run.counts.total == N
    assert run.counts.passed == expected_yes(N)
    rows = result_rows(store, run_id)
    assert len(rows) == len(set(rows)) == N
    by_key = server.by_key
    assert len(by_key) == N
    assert all(by_key[key] == 1 for key in kept.values()), "a finished case was asked again"
    # Only the items in flight at the shutdown were asked twice.
    assert len([n for n in by_key.values() if n > 1]) <= CONCURRENCY
    events = run_events.read_events(store, run_id, limit=1000)
    assert len([e for e in events if e.kind == "item"]) == N
    assert events[-1].kind == "finished"


async def test_a_cancel_requested_while_no_worker_holds_the_run(store: Store, server: Any) -> None:
    run_id = queued_run(
        store, yes_no_suite(N, server.base_url, prompt=SLOW), concurrency=CONCURRENCY
    )
    async with running_pool(store):
        await wait_for(lambda: _recorded(store, run_id) >= 10)
    assert queue.request_cancel(store, run_id) is RunStatus.running  # nobody to tell yet
    async with running_pool(store) as pool:  # the next worker resumes it, then cancels it
        await wait_for(lambda: store.get_run(run_id).status.finished, timeout=5)
        await wait_for(lambda: pool.executing == [], timeout=5)
    run = store.get_run(run_id)
    assert run.status is RunStatus.canceled and run.counts.total < N
    assert len(result_rows(store, run_id)) == run.counts.total
    assert lease_of(store, run_id) == (None, None)


async def test_a_lost_lease_stops_execution_without_touching_the_run(
    store: Store, server: Any
) -> None:
    run_id = queued_run(
        store, yes_no_suite(N, server.base_url, prompt=SLOW), concurrency=CONCURRENCY
    )
    runs = tables.runs.c
    async with running_pool(store) as pool:
        await wait_for(lambda: _recorded(store, run_id) >= 20)
        with store.engine.begin() as conn:  # another worker took it over (we had stalled)
            conn.execute(
                sa.update(tables.runs)
                .where(runs.id == run_id)
                .values(
                    lease_owner="thief", lease_expires_at=datetime.now(UTC) + timedelta(hours=1)
                )
            )
        await wait_for(lambda: pool.executing == [], timeout=5)
        assert store.get_run(run_id).status is RunStatus.running
        assert lease_of(store, run_id)[0] == "thief"  # not released: it is not ours
        assert run_events.read_events(store, run_id, limit=1000)[-1].kind == "item"

        with store.engine.begin() as conn:  # the thief died: its lease expires
            conn.execute(
                sa.update(tables.runs)
                .where(runs.id == run_id)
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        await wait_for(lambda: store.get_run(run_id).status.finished)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed and run.counts.total == N
    rows = result_rows(store, run_id)
    assert len(rows) == len(set(rows)) == N
