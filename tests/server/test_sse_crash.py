"""A client following ``GET /api/runs/{id}/events`` while its server is killed with
``kill -9`` and started again resumes with ``Last-Event-ID`` and sees every event exactly
once, in order: each case's ``item`` event once (none lost with the server, none repeated
by the resumed run), one ``finished``, ids strictly increasing. Real ``evalbook serve``
processes on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from evalbook.storage.store import Store

from .live import closed_port
from .test_serve_crash import serve

N = 240
PROMPT = "[[latency=30]][[answer=yes]] question {{ i }}"


@dataclass
class Follower:
    """Follows a run's events from a thread, reconnecting with ``Last-Event-ID`` whenever
    the connection drops, until the ``finished`` event."""

    url: str
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    resumed_from: list[str] = field(default_factory=list)
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + 240
        try:
            while not self.done.is_set() and time.monotonic() < deadline:
                headers = {}
                if self.events:
                    headers["Last-Event-ID"] = str(self.events[-1][0])
                    self.resumed_from.append(headers["Last-Event-ID"])
                try:
                    self._follow(headers)
                except httpx.TransportError:
                    time.sleep(0.1)  # the server is down: try again
            if not self.done.is_set():
                self.error = "no finished event before the deadline"
        except Exception as exc:  # reported by the test
            self.error = repr(exc)

    def _follow(self, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(10, read=30)
        with httpx.stream("GET", self.url, headers=headers, timeout=timeout) as response:
            if response.status_code == 204:
                self.done.set()
                return
            response.raise_for_status()
            frame: dict[str, str] = {}
            for line in response.iter_lines():
                if line:
                    name, _, value = line.partition(":")
                    frame[name] = value.removeprefix(" ")
                    continue
                if "id" in frame and "data" in frame:
                    event = (int(frame["id"]), frame["event"], json.loads(frame["data"]))
                    self.events.append(event)
                    if event[1] == "finished":
                        self.done.set()
                        return
                frame = {}


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
