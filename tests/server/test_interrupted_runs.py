"""Interrupted runs over HTTP: a CLI run whose process died reads ``interrupted`` in the
run record (list, show, board, dashboard), and the API's cancel ends it through the
dispatcher, summarised from what it recorded, as ``evalbook runs cancel`` does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from tests.interrupted import killed_cli_run


async def held_run(store: Store, owner: str, lease_s: float) -> RunRecord:
    """A recorded run whose lease ``owner`` holds for ``lease_s`` (as ``evalbook run``
    holds the run it executes), of workspace ``default``."""
    suite = load_suite_from_dict(
        {"id": "held", "version": "1", "prompt": "{{ q }}", "cases": [{"vars": {"q": "x"}}]}
    )
    job = prepare_run(store, suite, model="mock:echo")
    await job.provider.aclose()
    assert queue.hold(store, job.run.id, owner, lease_s=lease_s)
    return job.run


@pytest.mark.slow
async def test_a_killed_cli_run_reads_interrupted_and_cancel_summarises_it(
    api: httpx.AsyncClient, store: Store, db_url: str, tmp_path: Path
) -> None:
    run_id, kept = await asyncio.to_thread(killed_cli_run, tmp_path, db_url)
    assert kept > 0

    [listed] = (await api.get("/api/runs")).json()["items"]
    assert listed["id"] == run_id and listed["status"] == "running" and listed["interrupted"]
    shown = (await api.get(f"/api/runs/{run_id}")).json()
    assert shown["interrupted"] is True and shown["status"] == "running"
    [card] = (await api.get("/api/board")).json()["cards"]
    assert card["run"]["interrupted"] is True
    [active] = (await api.get("/api/dashboard")).json()["active"]
    assert active["interrupted"] is True

    canceled = await api.post(f"/api/runs/{run_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "canceled" and body["interrupted"] is False
    assert body["stop_reason"] == "canceled after its process was gone"
    assert body["counts"]["total"] == kept  # summarised from what it recorded
    assert body["passed"] is False and body["finished_at"] is not None
    assert store.get_run(run_id).status is RunStatus.canceled
    assert queue.lease_owner(store, run_id) is None  # the cancel released what it took


async def test_an_expired_lease_reads_interrupted_and_a_live_one_does_not(
    api: httpx.AsyncClient, store: Store
) -> None:
    live = await held_run(store, "cli:elsewhere:1:a", lease_s=600)
    expired = await held_run(store, "cli:elsewhere:2:b", lease_s=0.05)
    await asyncio.sleep(0.2)

    states = {r["id"]: r["interrupted"] for r in (await api.get("/api/runs")).json()["items"]}
    assert states == {live.id: False, expired.id: True}

    # A live execution is asked to stop: its heartbeat reads the flag.
    asked = (await api.post(f"/api/runs/{live.id}/cancel")).json()
    assert asked["status"] == "pending" and asked["cancel_requested"] is True
    assert not asked["interrupted"] and store.get_run(live.id).status is RunStatus.pending

    # Nobody would read the flag of an interrupted run: the cancel ends it now.
    ended = (await api.post(f"/api/runs/{expired.id}/cancel")).json()
    assert ended["status"] == "canceled" and ended["interrupted"] is False
    assert ended["stop_reason"] == "canceled after its process was gone"
    assert ended["counts"]["total"] == 0
    assert (await api.get(f"/api/runs/{expired.id}")).json()["status"] == "canceled"
