"""``kill -9`` the server mid-run, start it again: the run resumes where it stopped, with
no case lost or duplicated and no finished case asked of the model again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalbook.storage.store import Store

from ..executor.helpers import server_key
from .live import closed_port

N = 200
PROMPT = "[[latency=40]][[answer={{ answer }}]] question {{ i }}"


@contextmanager
def serve(db_url: str, port: int, log: Path) -> Iterator[str]:
    env = {**os.environ, "EVALBOOK_DATABASE_URL": db_url, "EVALBOOK_RETRY_SCALE": "0"}
    with log.open("ab") as out:
        argv = ["serve", "--port", str(port), "--lease-s", "2", "--threads", "2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalbook", *argv],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()


def _wait(condition: Any, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; server log:\n{log.read_text()}")
        time.sleep(0.02)


@pytest.mark.slow
def test_a_killed_server_resumes_its_run(
    store: Store, server: Any, db_url: str, tmp_path: Path
) -> None:
    port = closed_port()
    log = tmp_path / "serve.log"
    suite = {
        "id": "crash",
        "version": "1",
        "prompt": PROMPT,
        "scorers": [{"equals": "yes"}],
        "cases": [
            {"id": f"c{i:03d}", "vars": {"i": i, "answer": "yes" if i % 3 == 0 else "no"}}
            for i in range(N)
        ],
    }
    model = {"provider": "openai-compatible", "name": "test-model", "base_url": server.base_url}
    with serve(db_url, port, log) as base:
        assert httpx.post(f"{base}/api/suites", json=suite).status_code == 201
        created = httpx.post(
            f"{base}/api/runs", json={"suite_id": "crash", "model": model, "concurrency": 8}
        )
        assert created.status_code == 202, created.text
        run_id = created.json()["id"]
        _wait(lambda: len(store.result_statuses(run_id)) >= 40, log)
    # The block's end was a SIGKILL: nothing more is written by that server.
    before = {case for case, _ in store.result_statuses(run_id)}
    asked_before = server.by_key
    assert 40 <= len(before) < N
    assert store.get_run(run_id).status == "running"

    with serve(db_url, port, log) as base:
        _wait(lambda: httpx.get(f"{base}/api/runs/{run_id}").json()["status"] == "completed", log)
        run = httpx.get(f"{base}/api/runs/{run_id}").json()
    assert run["counts"]["total"] == N and run["counts"]["passed"] == len(range(0, N, 3))
    results = {r.case_id: r for r in store.iter_results(run_id)}
    assert len(results) == N
    keys = {c: server_key(r.prompt or "") for c, r in results.items()}
    by_key = server.by_key
    assert all(by_key[keys[c]] == 1 for c in before), "a finished case was asked again"
    lost = {c for c in keys if keys[c] in asked_before and c not in before}
    assert all(by_key[keys[c]] == 2 or results[c].cached for c in lost)
    assert all(by_key[keys[c]] == 1 for c in keys if c not in lost)
