"""A client following ``GET /api/runs/{id}/events`` while its server is killed with
``kill -9`` and started again resumes with ``Last-Event-ID`` and sees every event exactly
once, in order: each case's ``item`` event once (none lost with the server, none repeated
by the resumed run), one ``finished``, ids strictly increasing. Real ``evalbook serve``
processes on loopback."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalbook.storage.store import Store
from evalbook.testing.sse_follower import Follower

from .live import closed_port
from .test_serve_crash import serve

N = 240
PROMPT = "[[latency=30]][[answer=yes]] question {{ i }}"


@pytest.mark.slow
def test_a_client_sees_every_event_once_across_a_server_kill(
    store: Store, server: Any, db_url: str, tmp_path: Path
) -> None:
    port = closed_port()
    log = tmp_path / "serve.log"
    suite = {
        "id": "sse-crash",
        "version": "1",
        "prompt": PROMPT,
        "scorers": [{"equals": "yes"}],
        "cases": [{"id": f"c{i:03d}", "vars": {"i": i}} for i in range(N)],
    }
    model = {"provider": "openai-compatible", "name": "test-model", "base_url": server.base_url}
    with serve(db_url, port, log) as base:
        assert httpx.post(f"{base}/api/suites", json=suite).status_code == 201
        created = httpx.post(
            f"{base}/api/runs", json={"suite_id": "sse-crash", "model": model, "concurrency": 8}
        )
        assert created.status_code == 202, created.text
        run_id = created.json()["id"]
        follower = Follower(f"{base}/api/runs/{run_id}/events")
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while sum(kind == "item" for _, kind, _ in list(follower.events)) < 60:
            assert time.monotonic() < deadline, f"no progress; log:\n{log.read_text()}"
            time.sleep(0.01)
    # The block's end was a SIGKILL, mid-run.
    assert store.get_run(run_id).status == "running"
    with serve(db_url, port, log):
        thread.join(240)
    assert follower.error is None, f"{follower.error}; log:\n{log.read_text()}"
    assert follower.resumed_from, "the client never had to reconnect"

    ids = [event_id for event_id, _, _ in follower.events]
    assert ids == sorted(set(ids)), "an event came twice or out of order"
    items = Counter(
        (data["case_id"], data["epoch"]) for _, kind, data in follower.events if kind == "item"
    )
    twice = sorted(key for key, n in items.items() if n > 1)
    lost = sorted({(f"c{i:03d}", 0) for i in range(N)} - set(items))
    assert (twice, lost) == ([], []), "cases seen twice / never seen"
    kinds = [kind for _, kind, _ in follower.events]
    assert kinds.count("finished") == 1 and kinds[-1] == "finished"
    finished = follower.events[-1][2]
    assert finished["status"] == "completed" and finished["counts"]["passed"] == N
