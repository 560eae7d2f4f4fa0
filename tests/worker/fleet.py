"""The fleet harness: brokers, ``evalbook worker`` processes killed by PID, waiting on
the database, and submitting a recorded run in shards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evalbook.core.run import RunOptions
from evalbook.executor.launch import prepare_run
from evalbook.storage import shards
from evalbook.storage.store import Store
from evalbook.worker.celery_dispatch import CeleryDispatcher

from ..executor.helpers import server_key

BROKERS = {
    "redis": "redis://127.0.0.1:6379/0",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
LEASE_S = 5.0


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A broker URL, with a queue of this test's own (exported for the workers)."""
    monkeypatch.setenv("EVALBOOK_BROKER_URL", BROKERS[request.param])
    monkeypatch.setenv("EVALBOOK_QUEUE", f"evalbook-test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("EVALBOOK_SHARD_LEASE_S", str(LEASE_S))
    return BROKERS[request.param]


class Workers:
    """``evalbook worker`` processes, each killed by PID at the end."""

    def __init__(self, db_url: str, logs: Path) -> None:
        self.db_url = db_url
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int = 1, *args: str) -> list[subprocess.Popen[bytes]]:
        args = args or ("--concurrency", "1")
        env = {**os.environ, "EVALBOOK_DATABASE_URL": self.db_url, "EVALBOOK_RETRY_SCALE": "0"}
        started = []
        for _ in range(n):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "evalbook", "worker", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            self.procs.append(proc)
            started.append(proc)
        return started

    def output(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("worker-*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[Workers]:
    fleet = Workers(db_url, tmp_path)
    yield fleet
    fleet.stop()


def wait_until(condition: Callable[[], bool], workers: Workers, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; worker logs:\n{workers.output()[-6000:]}")
        time.sleep(0.05)


def submit(
    store: Store, broker: str, suite: Any, n_shards: int, concurrency: int, **options: Any
) -> str:
    job = prepare_run(store, suite, options=RunOptions(concurrency=concurrency, **options))
    asyncio.run(job.aclose())  # sent to the fleet, not executed here
    dispatcher = CeleryDispatcher(store, broker, shards=n_shards)
    try:
        assert dispatcher.submit(job.run.id) == job.run.id
    finally:
        dispatcher.close()
    assert len(shards.shards_of(store, job.run.id)) == n_shards
    return job.run.id


def asked_per_case(server: Any, n: int, prompt: str) -> list[int]:
    counts = server.by_key
    return [
        counts.get(server_key(prompt.replace("{{ answer }}", a).replace("{{ i }}", str(i))), 0)
        for i, a in ((i, "yes" if i % 3 == 0 else "no") for i in range(n))
    ]


def running_shards(store: Store, run_id: str) -> list[shards.Shard]:
    return [s for s in shards.shards_of(store, run_id) if s.status == "running" and s.owner]
