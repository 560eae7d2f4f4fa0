"""A posted template cannot freeze the server: a prompt that would grow without bound is a
422 when the suite is registered, one that only goes wrong for some cases makes those cases
errors, and all the while the server answers its health check within a second (a real
uvicorn server, polled by a second thread)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx

from evalbook.server import ServerSettings, create_app
from evalbook.storage.store import Store

from .live import free_socket, serving


class HealthPoller:
    """Asks ``/api/health`` every 50 ms from its own thread; keeps the slowest answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.slowest = 0.0
        self.answers = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get("/api/health").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    status = 0
                self.slowest = max(self.slowest, time.perf_counter() - started)
                self.answers += status == 200
                self._stop.wait(0.05)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _suite(suite_id: str, prompt: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": suite_id, "name": suite_id, "threshold": 0, "prompt": prompt, "cases": cases}


async def test_template_bombs_never_stall_the_server(store: Store, server: Any) -> None:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    settings = ServerSettings(port=port, worker=True, poll_s=0.05, lease_s=10)
    base = f"http://127.0.0.1:{port}"
    model = {"provider": "openai-compatible", "name": "test-model", "base_url": server.base_url}
    with serving(create_app(settings, store=store), sock), HealthPoller(base) as health:
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:
            # 1. A prompt that grows without bound whatever the case: refused at once.
            started = time.perf_counter()
            bomb = _suite("bomb", '{{ "a" * 2000000000 }}', [{"id": "c1"}])
            answer = await api.post("/api/suites", json=bomb)
            assert answer.status_code == 422, answer.text
            assert "2,000,000,000 characters" in answer.json()["detail"]
            assert time.perf_counter() - started < 5

            # 2. Prompts that blow up for some cases only: those cases error, the run ends.
            cases = [{"id": "fine", "vars": {"n": 1, "k": 1}}] + [
                {"id": f"grow-{i}", "vars": {"n": 2_000_000_000, "k": 1}} for i in range(3)
            ]
            cases += [{"id": f"spin-{i}", "vars": {"n": 1, "k": 100_000}} for i in range(3)]
            prompt = (
                "{{ 'x' * n }}"
                "{% for i in range(1000) %}{% for j in range(k) %}{% endfor %}{% endfor %}"
            )
            assert (await api.post("/api/suites", json=_suite("some", prompt, cases))).is_success
            created = await api.post("/api/runs", json={"suite_id": "some", "model": model})
            assert created.status_code == 202, created.text
            run_id = created.json()["id"]
            deadline = time.monotonic() + 90
            while True:
                run = (await api.get(f"/api/runs/{run_id}")).json()
                if run["status"] not in ("pending", "running"):
                    break
                assert time.monotonic() < deadline, run
                await asyncio.sleep(0.1)
            results = (await api.get(f"/api/runs/{run_id}/results")).json()["items"]
    by_case = {r["case_id"]: r for r in results}
    assert by_case["fine"]["status"] == "passed"
    for i in range(3):
        grow, spin = by_case[f"grow-{i}"], by_case[f"spin-{i}"]
        assert grow["status"] == spin["status"] == "error"
        assert grow["error_type"] == spin["error_type"] == "TemplateError"
        assert "over the limit" in grow["error_message"]
        assert "took longer than" in spin["error_message"]
    assert run["counts"]["errored"] == 6
    assert server.requests == 1  # only the case that rendered was sent
    assert not health.failures
    assert health.answers > 10
    # Within a second on a quiet machine (0.2 s measured); 2 s leaves room for a loaded CI
    # box. Before the limits, one such suite froze the server for over 15 s.
    assert health.slowest < 2.0, f"a health check took {health.slowest:.2f} s"
