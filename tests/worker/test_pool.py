"""The worker pool on real SQLite and PostgreSQL against the local test server."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.executor.launch import prepare_run
from evalbook.storage import queue, run_events, tables
from evalbook.storage.store import Store

from ..executor.helpers import expected_yes, server_model, yes_no_suite
from .helpers import lease_of, queued_run, result_rows, running_pool, wait_for

SLOW = "[[latency=30]][[answer={{ answer }}]] question {{ i }}"


def _finished(store: Store, run_id: str) -> bool:
    return store.get_run(run_id).status.finished


async def test_pool_executes_queued_runs_at_most_max_runs_at_once(
    store: Store, server: Any
) -> None:
    suite = yes_no_suite(20, server.base_url, prompt=SLOW)
    ids = [queued_run(store, suite, concurrency=4, use_cache=False) for _ in range(4)]
    peak = 0
    hooked: list[str] = []

    async def hook(run: RunRecord) -> None:
        hooked.append(run.id)

    def all_done() -> bool:
        nonlocal peak
        peak = max(peak, len(pool.executing))
        return all(_finished(store, run_id) for run_id in ids)

    async with running_pool(store, max_runs=2, on_finished=[hook]) as pool:
        await wait_for(all_done)
    assert peak == 2
    assert sorted(hooked) == sorted(ids)  # also for a run that ended as the pool stopped
    for run_id in ids:
        run = store.get_run(run_id)
        assert run.status is RunStatus.completed, run.stop_reason
        assert run.counts.total == 20 and run.counts.passed == expected_yes(20)
        rows = result_rows(store, run_id)
        assert len(rows) == len(set(rows)) == 20
        assert lease_of(store, run_id) == (None, None)

        events = run_events.read_events(store, run_id, limit=1000)
        assert [e.id for e in events] == sorted(e.id for e in events)
        first, *middle, last = events
        items = [e for e in middle if e.kind == "item"]
        started = [e for e in middle if e.kind == "started"]
        assert len(items) + len(started) == len(middle) and started
        assert set(started[0].data) == {"case_id", "epoch", "seq", "question", "images"}
        assert (first.kind, first.data) == (
            "status",
            {"status": "running", "total": 20, "already_done": 0},
        )
        assert sorted(e.data["case_id"] for e in items) == [c.id for c in suite.cases]
        assert set(items[0].data) == {
            "case_id", "epoch", "status", "score", "latency_ms", "cached", "error",
            "seq", "output", "attempts", "retry_error",
        }  # fmt: skip
        assert sorted(e.data["seq"] for e in items) == list(range(20))
        assert last.kind == "finished"
        assert last.data["status"] == "completed" and last.data["score"] == run.score
        assert last.data["counts"]["total"] == 20
        assert set(last.data) == {
            "status", "score", "passed", "counts", "cost", "judge_cost", "duration_ms",
            "stop_reason",
        }  # fmt: skip


async def test_runs_of_one_pool_share_the_endpoint_connection_limit(
    store: Store, server: Any
) -> None:
    model = server_model(server.base_url, max_connections=2)
    suite = yes_no_suite(24, server.base_url, prompt=SLOW, model=model)
    ids = [queued_run(store, suite, concurrency=8, use_cache=False) for _ in range(2)]
    async with running_pool(store, max_runs=2):
        await wait_for(lambda: all(_finished(store, run_id) for run_id in ids))
    a, b = (store.get_run(run_id) for run_id in ids)
    assert a.status is b.status is RunStatus.completed
    assert a.started_at and b.started_at and a.finished_at and b.finished_at
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # they overlapped
    # Each run alone could hold 2 connections; together they still never exceed 2.
    assert server.max_in_flight == 2
    assert server.requests == 48


async def test_a_failing_hook_does_not_stop_the_pool(store: Store, server: Any) -> None:
    seen: list[RunRecord] = []

    async def broken(_run: RunRecord) -> None:
        raise RuntimeError("webhook endpoint down")

    async def record(run: RunRecord) -> None:
        seen.append(run)

    async with running_pool(store, on_finished=[broken, record]):
        first = queued_run(store, yes_no_suite(3, server.base_url))
        await wait_for(lambda: len(seen) == 1)
        second = queued_run(store, yes_no_suite(3, server.base_url, suite_id="other"))
        await wait_for(lambda: len(seen) == 2)
    assert [r.id for r in seen] == [first, second]
    assert all(r.status is RunStatus.completed for r in seen)


async def test_a_run_that_cannot_start_is_failed_and_the_pool_goes_on(
    store: Store, server: Any
) -> None:
    broken = queued_run(store, yes_no_suite(3, server.base_url))
    with store.engine.begin() as conn:  # its prompt version disappeared from the record
        conn.execute(
            sa.update(tables.runs).where(tables.runs.c.id == broken).values(prompt_version=99)
        )
    fine = queued_run(store, yes_no_suite(3, server.base_url, suite_id="fine"))
    async with running_pool(store):
        await wait_for(lambda: _finished(store, broken) and _finished(store, fine))
    run = store.get_run(broken)
    assert run.status is RunStatus.failed
    assert (run.stop_reason or "").startswith("could not start") and "99" in run.stop_reason
    assert run_events.read_events(store, broken)[-1].data["status"] == "failed"
    assert store.get_run(fine).status is RunStatus.completed
    assert lease_of(store, broken) == (None, None)


async def test_the_dispatcher_queues_cancels_and_wakes_the_pool(store: Store, server: Any) -> None:
    waiting = prepare_run(store, yes_no_suite(3, server.base_url)).run
    async with running_pool(store, poll_s=30) as pool:  # only a wake can start it in time
        dispatcher = DatabaseDispatcher(store, wake=pool.wake)
        await asyncio.sleep(0.1)  # the pool's first look found nothing
        run = prepare_run(store, yes_no_suite(4, server.base_url, suite_id="woken")).run
        await asyncio.to_thread(dispatcher.submit, run.id, idempotency_key="k-1")
        await wait_for(lambda: _finished(store, run.id), timeout=5)
        assert dispatcher.cancel(waiting.id) is RunStatus.canceled  # never started
    assert store.get_run(run.id).status is RunStatus.completed
    assert queue.find_idempotent(store, "default", "k-1") == run.id
    assert store.get_run(waiting.id).status is RunStatus.canceled
