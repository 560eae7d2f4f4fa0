"""``GET /api/runs/{id}/events`` over a real uvicorn server, on SQLite and PostgreSQL.

Events are written with ``append_events`` the way a worker in another process writes
them: the stream must find them in the database, not in this process's memory.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import evalbook.server.routes.events as events_route
from evalbook.api import arun
from evalbook.core.run import RunStatus
from evalbook.core.suite import Suite
from evalbook.executor.launch import prepare_run
from evalbook.executor.progress_log import close_log
from evalbook.storage import queue, run_events, tables
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key, ensure_workspace
from evalbook.suites import load_suite_from_dict
from evalbook.worker import execute_claimed

from ..worker.helpers import queued_run, running_pool
from .live import Frame, live_server, read_frames


def echo_suite(n: int = 3, **model: Any) -> Suite:
    return load_suite_from_dict(
        {
            "id": "echo",
            "name": "echo",
            "threshold": 0.5,
            "model": {"provider": "mock", "name": "echo", **model},
            "prompt": "say {{ word }}",
            "scorers": [{"contains": "yes"}],
            "cases": [
                {"id": f"c{i}", "vars": {"word": "yes" if i % 2 == 0 else "no"}} for i in range(n)
            ],
        }
    )


def pending_run(store: Store, workspace_id: str = "default") -> str:
    run = prepare_run(store, echo_suite(), workspace_id=workspace_id).run
    return run.id


def _item(case_id: str, status: str = "passed") -> dict[str, Any]:
    score = 1.0 if status == "passed" else 0.0
    return {
        "case_id": case_id,
        "epoch": 0,
        "status": status,
        "score": score,
        "latency_ms": 12.5,
        "cached": False,
        "error": None,
    }


def finish(store: Store, run_id: str, status: RunStatus = RunStatus.completed) -> None:
    run = store.get_run(run_id)
    run.status = status
    run.score = 2 / 3
    run.passed = True
    run.finished_at = datetime.now(UTC)
    store.update_run(run)


async def write_progress(store: Store, run_id: str, *, pause_s: float = 0.05) -> None:
    """What a worker elsewhere logs: running, three items, the record, then the summary."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("status", {"status": "running", "total": 3, "already_done": 0}),
        ("item", _item("c0")),
        ("item", _item("c1", "failed")),
        ("item", _item("c2")),
    ]
    for kind, data in steps:
        await asyncio.sleep(pause_s)
        await asyncio.to_thread(run_events.append_events, store, [(run_id, kind, data)])
    await asyncio.to_thread(finish, store, run_id)
    summary = {"status": "completed", "score": 2 / 3, "passed": True, "counts": {"total": 3}}
    await asyncio.to_thread(run_events.append_events, store, [(run_id, "finished", summary)])


def named(frames: list[Frame]) -> list[Frame]:
    return [frame for frame in frames if frame.event is not None]


async def test_a_stream_follows_a_run_executed_elsewhere_and_resumes(store: Store) -> None:
    run_id = pending_run(store)
    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async with client.stream("GET", f"/api/runs/{run_id}/events") as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["cache-control"] == "no-cache"
                writer = asyncio.create_task(write_progress(store, run_id))
                frames = await read_frames(response)  # returns only when the server ends it
            await writer

            assert frames[0].retry == events_route.RETRY_MS
            events = named(frames)
            assert [f.event for f in events] == ["status", "item", "item", "item", "finished"]
            ids = [int(f.id or "") for f in events]
            assert ids == sorted(ids) and len(set(ids)) == 5
            first_item = events[1].json()
            assert first_item["case_id"] == "c0" and first_item["status"] == "passed"
            assert first_item["score"] == 1.0 and first_item["latency_ms"] == 12.5
            assert events[2].json()["status"] == "failed"
            assert events[-1].json()["status"] == "completed"

            # A dropped stream resumes after the last id it saw: only later events.
            headers = {"Last-Event-ID": str(ids[1])}
            async with client.stream(
                "GET", f"/api/runs/{run_id}/events", headers=headers
            ) as response:
                resumed = named(await read_frames(response))
            assert [int(f.id or "") for f in resumed] == ids[2:]

            # ?after= for clients that cannot set headers; the header wins over it.
            async with client.stream(
                "GET", f"/api/runs/{run_id}/events", params={"after": ids[3]}
            ) as response:
                assert [f.event for f in named(await read_frames(response))] == ["finished"]
            async with client.stream(
                "GET",
                f"/api/runs/{run_id}/events",
                params={"after": 0},
                headers={"Last-Event-ID": str(ids[3])},
            ) as response:
                assert len(named(await read_frames(response))) == 1

            # Nothing after the summary: 204 tells an EventSource to stop reconnecting.
            done = await client.get(
                f"/api/runs/{run_id}/events", headers={"Last-Event-ID": str(ids[-1])}
            )
            assert done.status_code == 204
            for bad in (b"x", "²".encode(), str(2**63).encode()):
                answer = await client.get(
                    f"/api/runs/{run_id}/events", headers={"Last-Event-ID": bad}
                )
                assert answer.status_code == 422, bad


async def test_a_finished_cli_run_answers_a_summary_from_its_record(store: Store) -> None:
    run = await arun(echo_suite(3), store=store)
    assert run.status is RunStatus.completed
    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async with client.stream("GET", f"/api/runs/{run.id}/events") as response:
                frames = await read_frames(response)
            (summary,) = named(frames)
            assert summary.event == "finished" and summary.id == "0"
            data = summary.json()
            assert data["status"] == "completed"
            assert data["counts"]["total"] == 3 and data["counts"]["passed"] == 2
            assert data["score"] == pytest.approx(run.score)
            again = await client.get(
                f"/api/runs/{run.id}/events", headers={"Last-Event-ID": summary.id}
            )
            assert again.status_code == 204


async def test_runs_of_other_workspaces_are_not_found(store: Store) -> None:
    team_a = ensure_workspace(store, "team-a")
    key_a, _ = create_key(store, "team-a")
    key_b, _ = create_key(store, "team-b")
    run_id = pending_run(store, workspace_id=team_a.id)
    queue.request_cancel(store, run_id)  # finished before it started: nothing logged
    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            url = f"/api/runs/{run_id}/events"
            theirs = await client.get(url, headers={"Authorization": f"Bearer {key_b}"})
            assert theirs.status_code == 404
            assert (await client.get(url)).status_code == 401
            missing = await client.get(
                "/api/runs/nope/events", headers={"Authorization": f"Bearer {key_a}"}
            )
            assert missing.status_code == 404
            mine = await client.get(url, headers={"Authorization": f"Bearer {key_a}"})
            assert mine.status_code == 200
            assert "event: finished" in mine.text and '"status":"canceled"' in mine.text


async def test_keepalives_while_idle_and_polling_stops_on_disconnect(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_route, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(events_route, "POLL_S", 0.02)
    looks: list[float] = []
    real_tail = events_route.tail

    def counted(*args: Any, **kwargs: Any) -> Any:
        looks.append(time.monotonic())
        return real_tail(*args, **kwargs)

    monkeypatch.setattr(events_route, "tail", counted)
    run_id = pending_run(store)
    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async with client.stream("GET", f"/api/runs/{run_id}/events") as response:
                frames = await read_frames(
                    response, until=lambda fs: sum("keepalive" in f.comments for f in fs) >= 2
                )
            assert not named(frames)
            await asyncio.sleep(0.3)  # the server notices the disconnect
            seen = len(looks)
            await asyncio.sleep(0.5)
            assert len(looks) <= seen + 1, "the stream kept polling after the client left"


async def test_a_late_summary_is_waited_for_and_a_missing_one_is_made(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_route, "POLL_S", 0.02)

    def half_logged() -> str:
        run_id = pending_run(store)
        run_events.append_events(store, [(run_id, "status", {"status": "running"})])
        run_events.append_events(store, [(run_id, "item", _item("c0"))])
        finish(store, run_id, RunStatus.failed)  # the record says finished; no summary yet
        return run_id

    async def late_summary(run_id: str) -> None:
        await asyncio.sleep(0.3)
        summary = {"status": "failed", "late": True}
        await asyncio.to_thread(run_events.append_events, store, [(run_id, "finished", summary)])

    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # The worker's summary lands a moment after its record: the stream waits for it.
            monkeypatch.setattr(events_route, "FINISH_GRACE_S", 10.0)
            late = half_logged()
            async with client.stream("GET", f"/api/runs/{late}/events") as response:
                writer = asyncio.create_task(late_summary(late))
                events = named(await read_frames(response))
            await writer
            assert [f.event for f in events] == ["status", "item", "finished"]
            assert events[-1].json()["late"] is True
            assert int(events[-1].id or "") > int(events[-2].id or "")

            # The worker died before its summary: after the grace, one is made from the record.
            monkeypatch.setattr(events_route, "FINISH_GRACE_S", 0.2)
            lost = half_logged()
            async with client.stream("GET", f"/api/runs/{lost}/events") as response:
                events = named(await read_frames(response))
            assert [f.event for f in events] == ["status", "item", "finished"]
            assert events[-1].json()["status"] == "failed" and "late" not in events[-1].json()
            assert events[-1].id == events[-2].id  # no new position in the log


async def test_a_run_executed_by_the_worker_pool_streams_live(store: Store) -> None:
    run_id = queued_run(store, echo_suite(4, params={"latency_ms": 30}), concurrency=1)
    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async with client.stream("GET", f"/api/runs/{run_id}/events") as response:
                async with running_pool(store):
                    frames = await read_frames(response)
    events = named(frames)
    assert events[0].event == "status" and events[0].json()["status"] == "running"
    assert [f.json()["case_id"] for f in events if f.event == "item"] == ["c0", "c1", "c2", "c3"]
    assert events[-1].event == "finished"
    assert events[-1].json()["counts"]["total"] == 4
    with store.engine.connect() as conn:
        logged = conn.execute(
            tables.run_events.select().where(tables.run_events.c.run_id == run_id)
        ).all()
    assert [str(row.id) for row in logged] == [f.id for f in events]


async def test_events_of_a_finished_run_lost_with_its_executor_are_added_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server died after recording a run's end, with the last cases' events still
    buffered (an older release wrote them after the end): a client resuming with
    ``Last-Event-ID`` gets those cases once, then the summary — not a 204."""
    monkeypatch.setattr(events_route, "POLL_S", 0.02)
    monkeypatch.setattr(events_route, "FINISH_GRACE_S", 0.2)
    run_id = queued_run(store, echo_suite(5))
    assert queue.claim(store, "w1", lease_s=30) == run_id
    assert await execute_claimed(store, run_id, "w1", lease_s=30) is not None
    e = tables.run_events.c
    with store.write() as conn:
        ids = {
            row.data["case_id"]: row.id
            for row in conn.execute(
                sa.select(e.id, e.data).where(e.run_id == run_id, e.kind == "item")
            )
        }
        lost = [ids["c3"], ids["c4"]]
        conn.execute(sa.delete(tables.run_events).where(e.id.in_(lost) | (e.kind == "finished")))
    kept = run_events.read_events(store, run_id)
    assert [ev.kind for ev in kept].count("item") == 3
    await asyncio.sleep(0.3)  # the summary is overdue

    with live_server(store) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            headers = {"Last-Event-ID": str(kept[-1].id)}
            async with client.stream(
                "GET", f"/api/runs/{run_id}/events", headers=headers
            ) as response:
                assert response.status_code == 200
                resumed = named(await read_frames(response))
            assert [(f.event, f.json().get("case_id")) for f in resumed] == [
                ("item", "c3"),
                ("item", "c4"),
                ("finished", None),
            ]
            assert [f.json()["seq"] for f in resumed[:2]] == [3, 4]
            assert resumed[0].json()["output"] and resumed[-1].json()["status"] == "completed"
            assert int(resumed[0].id or "") > kept[-1].id

            # Once: a client reading from the start sees every case once, ids increasing.
            async with client.stream("GET", f"/api/runs/{run_id}/events") as response:
                whole = named(await read_frames(response))
    items = [f.json()["case_id"] for f in whole if f.event == "item"]
    assert sorted(items) == [f"c{i}" for i in range(5)]
    ids_seen = [int(f.id or "") for f in whole[:-1]]
    assert ids_seen == sorted(set(ids_seen))
    assert close_log(store, run_id) == 0
