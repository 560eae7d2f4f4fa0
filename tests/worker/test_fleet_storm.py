"""Fleet-wide limits under pressure: a 429 storm met by three Celery workers at once, and
judges' calls held to the judge model's ``max_connections`` across the fleet.

Real Celery worker processes on Redis, the limits in real Redis, SQLite and PostgreSQL,
against the local test server (which counts what it is sent).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from evalbook.core.result import ResultStatus
from evalbook.core.run import RunStatus
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..executor.helpers import server_key, server_model
from .fleet import Workers, submit, wait_until
from .helpers import result_rows

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limits_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Fleet limits in Redis under a prefix of this test's own, removed at the end."""
    prefix = f"evalbook-test-{uuid.uuid4().hex[:8]}:"
    # Leases long enough that no shard changes hands on a loaded machine.
    monkeypatch.setenv("EVALBOOK_SHARD_LEASE_S", "30")
    monkeypatch.setenv("EVALBOOK_REDIS_URL", REDIS)
    monkeypatch.setenv("EVALBOOK_REDIS_PREFIX", prefix)
    yield prefix
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


class WindowWatch:
    """Samples the fleet's 429 window of every endpoint in Redis while a run executes."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WindowWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        client = redis.Redis.from_url(REDIS)
        try:
            while not self._stop.wait(0.01):
                for key in client.scan_iter(match=f"{self.prefix}limit:*:window"):
                    raw = client.get(key)
                    if raw is not None:
                        self.samples.append(float(raw))
        finally:
            client.close()


def storm_suite(n: int, base_url: str, cap: int) -> tuple[Any, list[str]]:
    """``n`` cases; in each run of 40 the first 20 meet two 429s before their answer (the
    storm), the other 20 none (the calm after it)."""
    prompts, cases = [], []
    for i in range(n):
        fault = "[[fail=429:2]]" if i % 40 < 20 else ""
        answer = "yes" if i % 2 == 0 else "no"
        cases.append({"id": f"case-{i:05d}", "vars": {"i": i, "a": answer, "f": fault}})
        prompts.append(f"[[latency=40]]{fault}[[answer={answer}]] question {i}")
    suite = load_suite_from_dict(
        {
            "id": "storm",
            "model": server_model(base_url, max_connections=cap),
            "prompt": "[[latency=40]]{{ f }}[[answer={{ a }}]] question {{ i }}",
            "scorers": [{"equals": "yes"}],
            "cases": cases,
        }
    )
    return suite, prompts


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_429_storm_shrinks_the_fleet_window_and_loses_nothing(
    store: Store, server: Any, broker: str, workers: Workers, limits_prefix: str
) -> None:
    n, cap = 240, 24
    suite, prompts = storm_suite(n, server.base_url, cap)
    workers.start(3)
    with WindowWatch(limits_prefix) as watch:
        run_id = submit(store, broker, suite, 3, 16)
        wait_until(lambda: store.get_run(run_id).status.finished, workers, timeout=240)

    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    # Every case recorded once, none errored: the 429s were retried, not lost.
    assert sorted(result_rows(store, run_id)) == sorted((f"case-{i:05d}", 0) for i in range(n))
    assert run.counts.errored == 0 and run.counts.passed == n // 2
    statuses = set(store.result_statuses(run_id).values())
    assert ResultStatus.error.value not in statuses
    # Each stormy case was refused twice and answered once; each calm case asked once.
    asked = [server.by_key.get(server_key(p), 0) for p in prompts]
    assert asked == [3 if i % 40 < 20 else 1 for i in range(n)]
    assert server.by_status[429] == 2 * (n // 2)
    # The window in Redis, one for the whole fleet, shrank under the storm (a 429 halves
    # it from what was in flight) and grew back with the successes after its lowest point.
    assert watch.samples, "the 429 window was never set"
    lowest = min(watch.samples)
    assert lowest <= cap / 2, watch.samples[:50]
    after = watch.samples[watch.samples.index(lowest) :]
    assert max(after) > lowest, watch.samples[-50:]
    assert server.max_in_flight <= cap


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_judge_calls_respect_the_fleet_max_connections(
    store: Store, server: Any, broker: str, workers: Workers, limits_prefix: str
) -> None:
    """The system under test is a function (free, instant); every case is judged over
    HTTP by a judge model limited to 3 connections. Three workers, 8 items in flight each:
    the test server never sees more than 3 judge calls at once."""
    n, cap = 60, 3
    judge = {**server_model(server.base_url, max_connections=cap), "name": "judge-model"}
    suite = load_suite_from_dict(
        {
            "id": "judged-fleet",
            "model": {"provider": "python", "name": "tests.scorers.judge_fixtures:reply"},
            "prompt": "{{ q }}",
            "scorers": [{"llm-judge": "Is it right?", "judge": judge}],
            "cases": [
                {
                    "id": f"c{i:03d}",
                    "vars": {"q": f"q{i}", "reply": f"r{i} [[latency=150]][[answer=GRADE: 7]]"},
                }
                for i in range(n)
            ],
        }
    )
    workers.start(3)
    run_id = submit(store, broker, suite, 3, 8)
    wait_until(lambda: store.get_run(run_id).status.finished, workers, timeout=240)

    run = store.get_run(run_id)
    assert run.status is RunStatus.completed, run.stop_reason
    assert run.counts.errored == 0 and run.counts.total == n
    assert server.requests == n  # one judge call per case
    assert 2 <= server.max_in_flight <= cap, server.max_in_flight
