"""The fleet recovers what a plain run never meets: a shard message the broker lost, a run's
``max_cost`` spent by several shards at once, and a finished run sent again.

Real Celery worker processes on Redis and RabbitMQ, SQLite and PostgreSQL, against the
local test server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from evalbook.core.run import RunOptions, RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.storage import run_events, shards, tables
from evalbook.storage.store import Store
from evalbook.worker.celery_app import make_app, send
from evalbook.worker.celery_dispatch import CeleryDispatcher

from ..executor.helpers import expected_yes, server_model, yes_no_suite
from .fleet import Workers, asked_per_case, submit, wait_until
from .helpers import result_rows

PROMPT = "[[latency=20]][[answer={{ answer }}]] question {{ i }}"


def test_a_shard_whose_message_was_lost_is_sent_again(
    store: Store, server: Any, broker: str, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shard 1's message never reaches the broker: the reaper sends it again once it has
    waited ``queued`` past the bound, and the run completes with every case once."""
    monkeypatch.setenv("EVALBOOK_SHARD_RESEND_S", "2")
    n = 60
    job = prepare_run(store, yes_no_suite(n, server.base_url, prompt=PROMPT))
    asyncio.run(job.aclose())
    run_id = job.run.id
    shards.submit(store, run_id, shards.plan(n, 3))
    app = make_app(broker)
    try:
        send(app, run_id, 0, 2)  # shard 1's message is "lost"
    finally:
        app.close()
    workers.start(1)
    wait_until(lambda: store.get_run(run_id).status.finished, workers)

    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.counts.passed == expected_yes(n) and run.counts.total == n
    assert sorted(result_rows(store, run_id)) == sorted((f"case-{i:05d}", 0) for i in range(n))
    assert asked_per_case(server, n, PROMPT) == [1] * n
    assert [s.status for s in shards.shards_of(store, run_id)] == ["done"] * 3
    assert "shard 1: its worker died or its message was lost; sent again" in workers.output()


def test_max_cost_is_one_budget_across_the_fleet(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    """Four shards on two workers share the run's ``max_cost``: together they never spend
    more, and every shard stops once it is spent (each alone would spend it all)."""
    # 1 $ per token in and out, one token out: each call costs its words, about 4 $.
    price = {"input_per_mtok": 1_000_000, "output_per_mtok": 1_000_000}
    model = server_model(server.base_url, price=price, max_tokens=1)
    n, max_cost = 200, 60.0
    suite = yes_no_suite(n, server.base_url, model=model, prompt=PROMPT)
    run_id = submit(store, broker, suite, 4, 4, max_cost=max_cost)
    workers.start(2)
    wait_until(lambda: store.get_run(run_id).status.finished, workers)

    run = store.get_run(run_id)
    assert run.status is RunStatus.canceled
    assert run.stop_reason and run.stop_reason.startswith("max-cost reached"), run.stop_reason
    assert run.cost is not None and 0 < run.cost <= max_cost
    recorded = len(result_rows(store, run_id))
    assert 0 < recorded < n // 4  # less than one shard's worth: the budget is the run's
    assert server.requests == recorded  # nothing asked beyond what was recorded
    assert {s.status for s in shards.shards_of(store, run_id)} == {"canceled"}
    stopped = [s.stop_reason or "" for s in shards.shards_of(store, run_id)]
    assert all(r.startswith("max-cost reached") for r in stopped), stopped


def _spent(store: Store, run_id: str) -> float:
    """The cost of the results recorded so far (cached answers cost nothing again)."""
    r = tables.results.c
    query = sa.select(sa.func.sum(r.cost_usd)).where(r.run_id == run_id, r.cached.is_(False))
    with store.read() as conn:
        return float(conn.execute(query).scalar() or 0.0)


def test_a_sharded_runs_cost_is_what_its_results_spent(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    """While the fleet runs it, a run's cost is what its recorded results spent (never the
    budget handed out to its shards, which runs ahead of it), and at its end exactly that."""
    price = {"input_per_mtok": 1_000_000, "output_per_mtok": 1_000_000}
    model = server_model(server.base_url, price=price, max_tokens=1)
    n = 120
    prompt = "[[latency=100]][[answer={{ answer }}]] question {{ i }}"
    suite = yes_no_suite(n, server.base_url, model=model, prompt=prompt)
    run_id = submit(store, broker, suite, 3, 4, max_cost=1_000_000.0)
    workers.start(2)
    seen: list[tuple[float, float]] = []  # (the run's cost, what its results spent after)

    def look() -> bool:
        run = store.get_run(run_id)
        if not run.status.finished and run.cost is not None:
            seen.append((run.cost, _spent(store, run_id)))
        return run.status.finished

    wait_until(look, workers)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.cost == pytest.approx(_spent(store, run_id)) and run.cost > 0
    assert seen, "the run's cost was never shown while it ran"
    assert all(0 < cost <= spent + 1e-9 for cost, spent in seen), seen
    assert shards.budget_handed(store, run_id) <= 1_000_000.0


def test_a_fully_recorded_run_sent_again_finishes_without_asking(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    n = 90
    run_id = submit(store, broker, yes_no_suite(n, server.base_url, prompt=PROMPT), 3, 8)
    workers.start(1)
    wait_until(lambda: store.get_run(run_id).status.finished, workers)
    first = store.get_run(run_id)
    assert first.status is RunStatus.completed and server.requests == n

    dispatcher = CeleryDispatcher(store, broker, shards=3)
    try:
        assert dispatcher.requeue(run_id)
    finally:
        dispatcher.close()

    def finished_twice() -> bool:
        events = run_events.read_events(store, run_id, after=0, limit=10_000)
        return [e.kind for e in events].count("finished") == 2

    wait_until(finished_twice, workers)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.stop_reason is None and run.passed == first.passed
    assert run.counts.passed == expected_yes(n) and run.score == first.score
    assert [(s.status, s.stop_reason) for s in shards.shards_of(store, run_id)] == [
        ("done", None)
    ] * 3
    assert server.requests == n  # nothing asked again
    assert sorted(result_rows(store, run_id)) == sorted((f"case-{i:05d}", 0) for i in range(n))


def test_the_shared_budget_never_hands_out_more_than_max_cost(store: Store) -> None:
    """The counter itself, on each database: slices are granted until the budget is out,
    then nothing; giving back makes room again."""
    from ..executor.helpers import yes_no_suite as suite_of

    job = prepare_run(store, suite_of(2, "http://127.0.0.1:9"), options=RunOptions())
    asyncio.run(job.aclose())
    run_id = job.run.id
    shards.create(store, run_id, shards.plan(2, 2))  # the counter is on the run's finish row
    grants = [shards.take_budget(store, run_id, 4.0, 10.0) for _ in range(4)]
    assert grants == [4.0, 4.0, 2.0, 0.0]
    assert shards.take_budget(store, run_id, -3.0, None) == -3.0  # a shard gave 3 back
    assert shards.take_budget(store, run_id, 5.0, 10.0) == 3.0
    assert shards.budget_handed(store, run_id) == 10.0
    assert store.get_run(run_id).cost is None  # the run's cost is what it spent: nothing
