"""The whole service on a real socket: submit a run over HTTP, the in-process worker pool
executes it against the local model server, progress streams over SSE, and the signed
``eval.completed`` webhook reaches a real receiver."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from evalbook.server import ServerSettings, create_app
from evalbook.storage.store import Store
from evalbook.webhooks.signing import verify_signature, webhook_secret

from .live import free_socket, read_frames, receiver, serving


def _suite(base_url: str, n: int) -> dict[str, Any]:
    return {
        "id": "e2e",
        "name": "end to end",
        "version": "1",
        "threshold": 0.5,
        "prompt": "[[answer={{ answer }}]] [[latency=20]] question {{ i }}",
        "scorers": [{"equals": "yes"}],
        "cases": [
            {"id": f"c{i:02d}", "vars": {"i": i, "answer": "yes" if i % 2 == 0 else "no"}}
            for i in range(n)
        ],
    }


async def test_submit_execute_stream_and_announce(store: Store, server: Any) -> None:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    settings = ServerSettings(
        port=port, worker=True, allow_private_webhooks=True, poll_s=0.05, lease_s=5
    )
    app = create_app(settings, store=store)  # the default services: worker pool + webhooks
    base = f"http://127.0.0.1:{port}"
    model = {"provider": "openai-compatible", "name": "test-model", "base_url": server.base_url}
    with receiver() as hook_target, serving(app, sock):
        async with httpx.AsyncClient(base_url=base, timeout=30) as api:
            hook = await api.post(
                "/api/webhooks",
                json={"url": hook_target.url, "events": ["eval.completed"], "allow_private": True},
            )
            assert hook.status_code == 201, hook.text
            suite = await api.post("/api/suites", json=_suite(server.base_url, 20))
            assert suite.status_code == 201, suite.text
            created = await api.post(
                "/api/runs",
                json={"suite_id": "e2e", "model": model, "concurrency": 4},
                headers={"Idempotency-Key": "e2e-1"},
            )
            assert created.status_code == 202, created.text
            run_id = created.json()["id"]

            async with api.stream("GET", f"/api/runs/{run_id}/events") as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                frames = await asyncio.wait_for(read_frames(stream), timeout=60)
            events = [f for f in frames if f.event]
            items = [f.json() for f in events if f.event == "item"]
            assert sorted(i["case_id"] for i in items) == [f"c{i:02d}" for i in range(20)]
            assert events[-1].event == "finished"
            summary = events[-1].json()
            assert summary["status"] == "completed" and summary["counts"]["passed"] == 10
            ids = [int(f.id) for f in events if f.id]
            assert ids == sorted(ids)

            run = (await api.get(f"/api/runs/{run_id}")).json()
            assert run["status"] == "completed" and run["counts"]["total"] == 20
            assert server.requests == 20  # every case asked once

        deadline = time.monotonic() + 30
        while not hook_target.requests and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    assert len(hook_target.requests) == 1
    request = hook_target.requests[0]
    payload = request.json()
    assert payload["event"] == "eval.completed" and payload["evalId"] == run_id
    assert payload["passRate"] == 0.5
    assert payload["runUrl"].endswith(f"/api/runs/{run_id}")
    assert verify_signature(
        webhook_secret(hook.json()["id"]),
        request.headers["x-evalbook-timestamp"],
        request.body,
        request.headers["x-evalbook-signature"],
    )
