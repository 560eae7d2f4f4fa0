"""Redis going away mid-run costs no answer: each result is recorded before its answer is
cached, and the cache then degrades to none, with one warning, while the run goes on."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

import evalbook
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite
from ..worker.helpers import result_rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis of this test's own on a loopback port (it is killed mid-run)."""
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("redis-server did not start") from None
            time.sleep(0.05)
    yield proc, f"redis://127.0.0.1:{port}/0"
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.mark.slow
async def test_redis_killed_mid_run_loses_no_answer(
    own_redis: tuple[subprocess.Popen[bytes], str],
    db_url: str,
    server: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proc, url = own_redis
    monkeypatch.setenv("EVALBOOK_REDIS_URL", url)
    suite = yes_no_suite(
        200, server.base_url, prompt="[[latency=10]][[answer={{ answer }}]] q{{ i }}"
    )
    store = Store.open(db_url)
    assert store.redis is not None

    async def kill_redis() -> None:
        while server.requests < 60:
            await asyncio.sleep(0.005)
        proc.kill()  # by PID: this test's own redis-server

    killer = asyncio.create_task(kill_redis())
    try:
        with caplog.at_level(logging.WARNING, logger="evalbook.cache"):
            run = await evalbook.arun(suite, store=store, concurrency=8)
        await killer
        assert proc.poll() is not None  # Redis really went away during the run
        assert run.status == "completed" and run.counts.errored == 0
        rows = result_rows(store, run.id)
        assert len(rows) == len(set(rows)) == 200
        assert server.requests == 200  # every paid answer kept, none asked twice
        warnings = [r for r in caplog.records if r.name == "evalbook.cache"]
        assert len(warnings) == 1 and "going on without it" in warnings[0].getMessage()
    finally:
        killer.cancel()
        store.close()
