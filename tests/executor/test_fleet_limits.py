"""Fleet-wide endpoint limits in a real Redis (127.0.0.1:6379), counted by the local test
server: connections in flight and requests per minute hold across processes, a dead
worker's slots come back, and a 429 storm shrinks the window, which then grows back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

import evalbook
from evalbook.core.run import RunStatus
from evalbook.executor.fleet_limits import EndpointLimits, FleetLimits, bucket_shape
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .helpers import expected_yes, server_model, yes_no_suite

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Limits under a private Redis prefix, removed afterwards."""
    name = f"evalbook-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("EVALBOOK_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("EVALBOOK_REDIS_PREFIX", name)
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _runs_in_threads(n: int, make: Callable[[int], Any], store_url: str) -> list[Any]:
    """``n`` runs at once, each in its own thread and event loop (its own Redis client),
    as separate workers would."""
    out: list[Any] = [None] * n
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            store = Store.open(store_url)  # workers opening one new database at once
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            return
        try:
            out[i] = asyncio.run(evalbook.arun(make(i), store=store, concurrency=20))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    return out


def test_connections_hold_across_workers(prefix: str, db_url: str) -> None:
    with run_test_server_in_thread(TestServerConfig(latency_ms=60)) as server:
        model = server_model(server.base_url, max_connections=5)

        def suite(i: int) -> Any:
            return yes_no_suite(40, server.base_url, model=model, suite_id=f"w{i}")

        runs = _runs_in_threads(3, suite, db_url)
        # Each worker alone may hold 5; together they never exceed 5, and used all 5.
        assert server.max_in_flight == 5
        assert server.requests == 120
    assert [r.counts.passed for r in runs] == [expected_yes(40)] * 3
    client = redis.Redis.from_url(REDIS_URL)
    slots = list(client.scan_iter(match=f"{prefix}limit:*:slots"))
    assert [client.zcard(k) for k in slots] == [0] * len(slots)  # every slot released
    client.close()


def test_requests_per_minute_hold_across_workers(prefix: str, db_url: str, tmp_path: Path) -> None:
    """Two worker processes share one requests-per-minute limit. Each is its own
    interpreter, as a fleet's workers are; the test server's process does nothing else
    meanwhile, so the time it notes for a request is when the request came (two runs in
    threads beside it once kept it from reading them for a few hundred milliseconds, and it
    then counted a burst that was never sent)."""
    rpm = 600
    capacity, rate = bucket_shape(rpm)
    with run_test_server_in_thread(TestServerConfig()) as server:
        model = server_model(server.base_url, rpm=rpm)
        env = {**os.environ, "EVALBOOK_DATABASE_URL": db_url}
        procs = []
        started = time.monotonic()
        for w in range(2):
            suite_file = tmp_path / f"r{w}.yaml"
            suite_file.write_text(
                yaml.safe_dump(
                    {
                        "id": f"r{w}",
                        "model": model,
                        "prompt": f"[[answer=yes]] worker {w} question {{{{ i }}}}",
                        "scorers": [{"equals": "yes"}],
                        "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(40)],
                    }
                )
            )
            argv = [sys.executable, "-m", "evalbook", "run", str(suite_file), "-c", "20"]
            procs.append(
                subprocess.Popen(
                    [*argv, "--no-cache"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        outputs = [proc.communicate(timeout=120)[0].decode(errors="replace") for proc in procs]
        took = time.monotonic() - started
        assert [proc.returncode for proc in procs] == [0, 0], outputs
        assert server.requests == 80
        # A bucket of one second's worth, refilled so a minute never sees more than rpm:
        # any three seconds hold at most capacity + three seconds of refill, and a few
        # more that a worker was granted earlier but sent late: a process kept off the CPU
        # sends what it was granted meanwhile at once (on a 2-core machine at load 9, 36
        # in 2 s, 6 over; starved for seconds at load 10 by three busy loops, up to 13
        # over in 3 s). Two workers with a bucket each would send 79 in 3 s.
        assert server.most_in_window(3.0) <= capacity + 3 * rate + 8
        assert server.most_in_window(60.0) <= rpm
    assert took >= (80 - capacity) / rate * 0.9


async def test_a_429_storm_shrinks_the_window_and_it_grows_back(prefix: str, store: Store) -> None:
    cap = 8
    storm = 24  # the first cases are refused twice each, then answered
    cases = [
        {
            "id": f"c{i:03d}",
            "vars": {"i": i, "fault": "[[fail=429:2]]" if i < storm else ""},
        }
        for i in range(160)
    ]
    with run_test_server_in_thread(TestServerConfig(latency_ms=20)) as server:
        suite = load_suite_from_dict(
            {
                "id": "storm",
                "model": server_model(server.base_url, max_connections=cap),
                "prompt": "{{ fault }}[[latency=20]][[answer=yes]] q {{ i }}",
                "scorers": [{"equals": "yes"}],
                "cases": cases,
            }
        )
        seen: list[float] = []
        in_flight: list[int] = []
        done = threading.Event()
        sampler = redis.Redis.from_url(REDIS_URL)

        def sample() -> None:
            while not done.is_set():
                for key in sampler.scan_iter(match=f"{prefix}limit:*:window"):
                    raw = sampler.get(key)
                    if raw is not None:
                        seen.append(float(raw))
                in_flight.append(server.in_flight)
                time.sleep(0.01)

        watcher = threading.Thread(target=sample)
        watcher.start()
        try:
            run = await evalbook.arun(suite, store=store, concurrency=2 * cap)
        finally:
            done.set()
            watcher.join()
        windows = list(sampler.scan_iter(match=f"{prefix}limit:*:window"))
        sampler.close()
        assert server.by_status[429] == 2 * storm
    assert run.status is RunStatus.completed and run.counts.passed == 160
    assert seen and min(seen) <= cap / 2  # shrank for everyone
    assert windows == []  # and grew back to the cap (the window is then dropped)
    assert max(in_flight) <= cap


@pytest.mark.slow
def test_a_killed_workers_slots_come_back(prefix: str, tmp_path: Path) -> None:
    """``kill -9`` of a process holding every slot: the slots are free again within the
    lease time, and a new worker gets all of them."""
    lease_s = 2.0
    with run_test_server_in_thread(TestServerConfig()) as server:
        model = server_model(server.base_url, max_connections=4)
        suite_file = tmp_path / "hang.yaml"
        suite_file.write_text(
            yaml.safe_dump(
                {
                    "id": "hang",
                    "model": model,
                    "prompt": "[[latency=60000]] q {{ i }}",
                    "scorers": [{"equals": "yes"}],
                    "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(8)],
                }
            )
        )
        env = {
            **os.environ,
            "EVALBOOK_LIMIT_LEASE_S": str(lease_s),
            "EVALBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        }
        log = (tmp_path / "worker.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalbook", "run", str(suite_file), "-c", "8"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        limits = EndpointLimits(f"openai-compatible:{server.base_url}", 4, None, None)

        async def held() -> int:
            fleet = FleetLimits(REDIS_URL, prefix=prefix)
            try:
                return await fleet.in_flight(limits.endpoint)
            finally:
                await fleet.aclose()

        try:
            deadline = time.monotonic() + 60
            while server.in_flight < 4:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "worker.log"
                ).read_text()
                time.sleep(0.05)
            time.sleep(lease_s)  # past one lease: the live worker renewed its leases
            assert asyncio.run(held()) == 4 and server.in_flight == 4
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed = time.monotonic()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()

        async def take_all() -> float:
            fleet = FleetLimits(REDIS_URL, prefix=prefix, lease_s=lease_s)
            try:
                async with contextlib_all(fleet, limits, 4):
                    return time.monotonic()
            finally:
                await fleet.aclose()

        got_all = asyncio.run(take_all())
    assert got_all - killed <= lease_s + 1.5


class contextlib_all:
    """Hold ``n`` slots of ``limits`` at once."""

    def __init__(self, fleet: FleetLimits, limits: EndpointLimits, n: int) -> None:
        self.cms = [fleet.slot(limits, 1) for _ in range(n)]

    async def __aenter__(self) -> None:
        for cm in self.cms:
            await cm.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        for cm in self.cms:
            await cm.__aexit__(None, None, None)
