"""The fleet: real Celery worker processes (``evalbook worker`` with a broker) on Redis and
RabbitMQ, sharing the database, executing shards of one run against the local test server.

Proofs: every case exactly once and the score exact; a duplicate delivery changes
nothing; ``kill -9`` of a worker mid-run loses nothing and asks again at most what it had
in flight; SIGTERM hands the shard back at once; a cancel stops every shard within 5 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis

from evalbook.core.run import RunStatus
from evalbook.storage import queue, run_events, shards
from evalbook.storage.store import Store
from evalbook.worker.celery_app import make_app, send

from ..executor.helpers import expected_yes, server_model, yes_no_suite
from .fleet import LEASE_S, Workers, asked_per_case, running_shards, submit, wait_until
from .helpers import result_rows

PROMPT = "[[latency=30]][[answer={{ answer }}]] question {{ i }}"


def test_a_run_split_over_workers_records_every_case_once(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    n = 240
    run_id = submit(store, broker, yes_no_suite(n, server.base_url, prompt=PROMPT), 6, 8)
    workers.start(2)
    wait_until(lambda: store.get_run(run_id).status.finished, workers)

    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.counts.total == n and run.counts.passed == expected_yes(n)
    assert run.score == pytest.approx(expected_yes(n) / n)
    assert sorted(result_rows(store, run_id)) == sorted((f"case-{i:05d}", 0) for i in range(n))
    assert asked_per_case(server, n, PROMPT) == [1] * n
    assert [s.status for s in shards.shards_of(store, run_id)] == ["done"] * 6
    # Progress from every shard reached the run's event stream, and the end once.
    kinds = [e.kind for e in run_events.read_events(store, run_id, after=0, limit=10_000)]
    assert kinds.count("item") == n and kinds.count("finished") == 1

    # The same shard delivered again (a broker's redelivery) changes nothing.
    before = (store.get_run(run_id), sorted(result_rows(store, run_id)))
    app = make_app(broker)
    send(app, run_id, 2)
    app.close()
    wait_until(lambda: "shard 2: skipped" in workers.output(), workers, timeout=60)
    assert (store.get_run(run_id), sorted(result_rows(store, run_id))) == before
    assert asked_per_case(server, n, PROMPT) == [1] * n


@pytest.mark.slow
def test_a_killed_worker_loses_nothing(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    n, concurrency = 600, 8
    prompt = "[[latency=200]][[answer={{ answer }}]] question {{ i }}"
    run_id = submit(store, broker, yes_no_suite(n, server.base_url, prompt=prompt), 12, concurrency)
    procs = workers.start(3)

    def holders() -> list[subprocess.Popen[bytes]]:
        """Workers holding a shard now (owners are ``host:pid:…``)."""
        pids = {int(s.owner.split(":")[1]) for s in running_shards(store, run_id)}
        return [p for p in procs if p.pid in pids]

    # Mid-shard (150 would be the end of the first three shards of 50 at once), and some
    # worker holding a shard: the victim.
    wait_until(lambda: len(store.result_statuses(run_id)) >= 125 and bool(holders()), workers)
    victim = holders()[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # What it held when it died: its shards stay `running` until their lease runs out.
    ranges = [
        range(s.seq_start, s.seq_stop)
        for s in running_shards(store, run_id)
        if s.owner.split(":")[1] == str(victim.pid)
    ]
    wait_until(lambda: store.get_run(run_id).status.finished, workers, timeout=240)

    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.counts.passed == expected_yes(n) and run.counts.total == n
    assert sorted(result_rows(store, run_id)) == sorted((f"case-{i:05d}", 0) for i in range(n))
    asked = asked_per_case(server, n, prompt)
    assert min(asked) == 1
    # Asked again: only items of the dead worker's shard, at most what it had in flight
    # (its concurrency, and what finished inside its writer's last window, 0.1 s).
    twice = [i for i, a in enumerate(asked) if a > 1]
    assert all(any(i in r for r in ranges) for i in twice)
    # None at all is possible too: the kill may land between the victim's requests.
    assert len(twice) <= 2 * concurrency and max(asked) <= 2
    # (The kill may also land between two of its shards: then nothing was taken again.)
    assert any(s.deliveries > 1 for s in shards.shards_of(store, run_id)) or not ranges


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_sigterm_hands_the_shard_back_at_once(
    store: Store, server: Any, broker: str, workers: Workers
) -> None:
    n, concurrency = 300, 8
    prompt = "[[latency=60]][[answer={{ answer }}]] question {{ i }}"
    run_id = submit(store, broker, yes_no_suite(n, server.base_url, prompt=prompt), 3, concurrency)
    first, *_ = workers.start(1)
    wait_until(lambda: len(store.result_statuses(run_id)) >= 60, workers)
    first.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    first.wait(timeout=30)
    stopped_in = time.monotonic() - t0
    # Handed back, not left to a lease: no shard is held by the stopped worker.
    assert all(s.status != "running" for s in shards.shards_of(store, run_id))
    assert stopped_in < LEASE_S + 5
    workers.start(1)
    wait_until(lambda: store.get_run(run_id).status.finished, workers, timeout=240)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed and run.counts.passed == expected_yes(n)
    asked = asked_per_case(server, n, prompt)
    assert min(asked) == 1 and sum(a - 1 for a in asked) <= concurrency


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_cancel_stops_every_shard(store: Store, server: Any, broker: str, workers: Workers) -> None:
    n = 600
    prompt = "[[latency=100]][[answer={{ answer }}]] question {{ i }}"
    run_id = submit(store, broker, yes_no_suite(n, server.base_url, prompt=prompt), 8, 8)
    with ExitStack():
        workers.start(2)
        wait_until(lambda: len(store.result_statuses(run_id)) >= 40, workers)
        queue.request_cancel(store, run_id)
        t0 = time.monotonic()
        wait_until(lambda: store.get_run(run_id).status.finished, workers, timeout=30)
        took = time.monotonic() - t0
    run = store.get_run(run_id)
    assert run.status is RunStatus.canceled and run.stop_reason == "canceled by the user"
    assert took < 5
    recorded = len(store.result_statuses(run_id))
    assert 40 <= recorded < n and run.counts.total == recorded
    assert {s.status for s in shards.shards_of(store, run_id)} <= {"done", "canceled"}
    time.sleep(1)
    assert len(store.result_statuses(run_id)) == recorded  # nothing runs any more


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_the_cli_submits_a_run_to_the_fleet(
    store: Store, server: Any, broker: str, workers: Workers, db_url: str, tmp_path: Path
) -> None:
    n = 60
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        "id: cli-fleet\n"
        f"model: {{provider: openai-compatible, name: test-model, base_url: '{server.base_url}'}}\n"
        "prompt: '[[answer={{ answer }}]] q {{ i }}'\n"
        "scorers: [{equals: 'yes'}]\n"
        "cases:\n"
        + "".join(
            f"  - {{id: c{i:03d}, vars: {{i: {i}, answer: '{'yes' if i % 2 else 'no'}'}}}}\n"
            for i in range(n)
        )
    )
    env = {**os.environ, "EVALBOOK_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "evalbook", "run", str(suite_file), "--submit", "--shards", "3"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    assert "in 3 shard(s)" in done.stderr
    assert server.requests == 0  # recorded and sent, not executed here
    workers.start(1)
    wait_until(lambda: store.get_run(run_id).status.finished, workers)
    run = store.get_run(run_id)
    assert run.status is RunStatus.completed and run.counts.passed == n // 2


def test_submit_without_a_broker_says_what_to_set(tmp_path: Path) -> None:
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text("id: s\nmodel: mock:echo\nprompt: '{{ q }}'\ncases: [{vars: {q: a}}]\n")
    cmd = [sys.executable, "-m", "evalbook", "run", str(suite_file), "--submit"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 1 and "EVALBOOK_BROKER_URL" in done.stderr


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
async def test_the_server_hands_runs_to_the_fleet(
    store: Store, broker: str, workers: Workers
) -> None:
    import httpx

    from evalbook.cli.worker import fleet_dispatcher
    from evalbook.server import ServerSettings, create_app
    from tests.server.resources import MOCK, post_suite, suite_data

    dispatcher = fleet_dispatcher()
    assert dispatcher is not None
    app = create_app(ServerSettings(worker=False), store=store, services=(), dispatcher=dispatcher)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            assert (await post_suite(api, suite_data())).status_code == 201
            created = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
            assert created.status_code == 202, created.text
            run_id = created.json()["id"]
    assert shards.shards_of(store, run_id)  # sent to the fleet, not to the database queue
    workers.start(1)
    deadline = time.monotonic() + 120
    while not store.get_run(run_id).status.finished:
        assert time.monotonic() < deadline, workers.output()[-4000:]
        await asyncio.sleep(0.1)
    assert store.get_run(run_id).status is RunStatus.completed


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_endpoint_limits_hold_across_the_fleet(
    store: Store, server: Any, broker: str, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers, each allowed 50 items in flight, against an endpoint limited to 20
    connections, then to 600 requests a minute: the test server never sees more."""
    from evalbook.executor.fleet_limits import bucket_shape

    prefix = f"evalbook-test-{uuid.uuid4().hex[:8]}:"
    # Leases long enough that no shard changes hands on a loaded machine: a shard given up
    # abandons its requests, which the server still counts until it answers them.
    monkeypatch.setenv("EVALBOOK_SHARD_LEASE_S", "30")
    monkeypatch.setenv("EVALBOOK_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("EVALBOOK_REDIS_PREFIX", prefix)
    workers.start(4)
    try:
        connections = server_model(server.base_url, max_connections=20)
        slow = "[[latency=300]][[answer={{ answer }}]] question {{ i }}"
        suite = yes_no_suite(400, server.base_url, model=connections, prompt=slow)
        run_id = submit(store, broker, suite, 4, 50)
        wait_until(lambda: store.get_run(run_id).status.finished, workers)
        assert store.get_run(run_id).counts.passed == expected_yes(400)
        assert server.max_in_flight == 20, (server.requests, server.by_status)  # never more

        server.reset()
        per_minute = server_model(server.base_url, rpm=600)
        suite = yes_no_suite(120, server.base_url, model=per_minute, suite_id="rpm")
        run_id = submit(store, broker, suite, 4, 50)
        wait_until(lambda: store.get_run(run_id).status.finished, workers)
        assert store.get_run(run_id).counts.passed == expected_yes(120)
        capacity, rate = bucket_shape(600)
        assert server.requests == 120, (server.by_status, server.faults)
        assert server.most_in_window(2.0) <= capacity + 2 * rate + 4
    finally:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
