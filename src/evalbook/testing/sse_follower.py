"""A client of ``GET /api/runs/{id}/events`` that survives its server: it reconnects with
``Last-Event-ID`` whenever the connection drops, until the ``finished`` event. The crash
tests and ``benchmarks/chaos.py`` follow a run through a ``kill -9`` of the server with it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Follower"]


@dataclass
class Follower:
    """Follows a run's events from a thread, reconnecting with ``Last-Event-ID`` whenever
    the connection drops, until the ``finished`` event."""

    url: str
    #: Give up (``error`` says so) when ``finished`` has not come by then.
    deadline_s: float = 240
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    resumed_from: list[str] = field(default_factory=list)
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + self.deadline_s
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
