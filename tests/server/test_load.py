"""Load through the API: 20 runs × 500 cases submitted at once, executed by the server's
worker pool against the local model server, finish with nothing lost or duplicated."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from evalbook.server import ServerSettings, create_app
from evalbook.storage import tables
from evalbook.storage.store import Store

RUNS, CASES = 20, 500


def _suite(n: int) -> dict[str, Any]:
    return {
        "id": "load",
        "version": "1",
        "prompt": "[[answer={{ answer }}]] question {{ i }} of run {{ run }}",
        "scorers": [{"equals": "yes"}],
        "cases": [
            {"id": f"c{i:04d}", "vars": {"i": i, "run": 0, "answer": "yes" if i % 4 else "no"}}
            for i in range(n)
        ],
    }


@pytest.mark.slow
async def test_twenty_concurrent_runs_through_the_api(store: Store, server: Any) -> None:
    settings = ServerSettings(worker=True, max_runs=RUNS, poll_s=0.05, lease_s=30)
    app = create_app(settings, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as api:
            assert (await api.post("/api/suites", json=_suite(CASES))).status_code == 201
            model = {
                "provider": "openai-compatible",
                "name": "test-model",
                "base_url": server.base_url,
                "max_connections": 64,
            }
            started = time.perf_counter()
            # Twenty different models (seeds) so that no run is answered from another's cache.
            posts = await asyncio.gather(
                *(
                    api.post(
                        "/api/runs",
                        json={
                            "suite_id": "load",
                            "model": {**model, "seed": k},
                            "concurrency": 16,
                            "alias": f"load-{k}",
                        },
                    )
                    for k in range(RUNS)
                )
            )
            assert [p.status_code for p in posts] == [202] * RUNS
            ids = [p.json()["id"] for p in posts]
            pending = set(ids)
            deadline = time.monotonic() + 240
            while pending and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                for run_id in list(pending):
                    run = (await api.get(f"/api/runs/{run_id}")).json()
                    if run["status"] in ("completed", "failed", "canceled"):
                        pending.discard(run_id)
            elapsed = time.perf_counter() - started
            assert not pending, f"{len(pending)} runs unfinished after {elapsed:.0f} s"
            for run_id in ids:
                run = (await api.get(f"/api/runs/{run_id}")).json()
                assert run["status"] == "completed", run
                assert run["counts"]["total"] == CASES and run["counts"]["errored"] == 0, run[
                    "metrics"
                ].get("errors")
                assert run["counts"]["passed"] == CASES * 3 // 4
    with store.engine.connect() as conn:
        per_run = conn.execute(
            sa.select(tables.results.c.run_id, sa.func.count()).group_by(tables.results.c.run_id)
        ).all()
    assert sorted(n for _, n in per_run) == [CASES] * RUNS
    assert server.requests == RUNS * CASES  # every case asked exactly once
    print(f"\n{RUNS} runs × {CASES} cases through the API in {elapsed:.1f} s")
