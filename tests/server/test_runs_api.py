"""Runs over HTTP: 202 + pending + queued, idempotency (also under concurrent retries),
filters, keyset pages with a cap, cancel, resume, archive, and workspace scoping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import evalbook
from evalbook.core.model_config import ModelConfig
from evalbook.providers import PROVIDERS
from evalbook.storage import tables
from evalbook.storage.queue import claim
from evalbook.storage.store import Store
from tests.server.resources import (
    MOCK,
    finished_run,
    post_suite,
    serve,
    suite_data,
    workspace_keys,
)


def run_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar_one())


async def submit(api: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK, **body})


async def test_a_run_is_accepted_pending_queued_and_the_worker_woken(store: Store) -> None:
    async with serve(store) as (api, woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        response = await submit(
            api, alias="candidate", label="l1", tags=["nightly"], epochs=2, cases=["c1", "c2"]
        )
        assert response.status_code == 202, response.text
        run = response.json()
        assert response.headers["location"] == f"/api/runs/{run['id']}"
        assert run["status"] == "pending" and run["queued_at"] is not None
        assert run["workspace_id"] == "default" and run["alias"] == "candidate"
        assert run["tags"] == ["nightly", "smoke"] and run["prompt_version"] == 2
        assert run["counts"]["total"] == 4 and run["options"]["case_ids"] == ["c1", "c2"]
        assert woken == ["wake"]
        assert (await api.get(f"/api/runs/{run['id']}")).json()["status"] == "pending"
        # A worker sharing the database can take it.
        assert claim(store, "worker-1", lease_s=30) == run["id"]


async def test_the_accepted_run_is_the_run_as_recorded(api: httpx.AsyncClient) -> None:
    # The 202 answer is built from the run in hand, not read back: it must be exactly
    # what reading the run gives, on either database (times, options, counts, queue).
    assert (await post_suite(api, suite_data())).status_code == 201
    for body in ({}, {"alias": "a", "tags": ["x"], "epochs": 2, "cases": ["c2"]}):
        accepted = await submit(api, **body)
        assert accepted.status_code == 202, accepted.text
        read = await api.get(f"/api/runs/{accepted.json()['id']}")
        assert accepted.json() == read.json()
    seeded = await api.post(
        "/api/evals", json={"name": "e", "inputSet": [{"prompt": "hi"}], "model": MOCK}
    )
    assert seeded.status_code == 202, seeded.text
    assert seeded.json() == (await api.get(f"/api/evals/{seeded.json()['id']}")).json()


async def test_a_submission_is_one_write(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Registered (an eval's suite), recorded and queued in one transaction: concurrent
    # submissions each wait one turn at the database's writer, not three.
    assert (await post_suite(api, suite_data())).status_code == 201
    writes: list[int] = []
    write = store.write

    def counted() -> Any:
        writes.append(1)
        return write()

    monkeypatch.setattr(store, "write", counted)
    assert (await submit(api)).status_code == 202
    assert len(writes) == 1
    seeded = await api.post(
        "/api/evals", json={"name": "e", "inputSet": [{"prompt": "hi"}], "model": MOCK}
    )
    assert seeded.status_code == 202, seeded.text
    assert len(writes) == 2
    ws = tables.workspace_suites.c
    with store.engine.connect() as conn:  # its suite is registered in the workspace
        registered = conn.execute(sa.select(ws.suite_id).where(ws.workspace_id == "default"))
        assert sum(sid.startswith("evals-") for (sid,) in registered) == 1


async def test_invalid_runs_are_refused_before_anything_is_recorded(
    api: httpx.AsyncClient, store: Store
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    refused = [
        {"suite_id": "nope"},
        {"suite_version": "7"},
        {"prompt_version": 9},
        {"cases": ["c1", "zz"]},
        {"model": "nope:model"},
        {"model": "mock:nope"},
        {"model": "python:os:getcwd"},
        {"model": "local:/etc/passwd.gguf"},
        {"epochs": "2"},  # strict: no coercion
        {"epochs": 0},
        {"concurrency": 1000},
        {"surprise": True},
        {"model": {"provider": "mock", "name": "echo", "temperature": "0"}},
    ]
    for change in refused:
        answer = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK, **change})
        assert answer.status_code in (404, 422), (change, answer.text)
    assert run_count(store) == 0


async def test_idempotency_key_returns_the_same_run(api: httpx.AsyncClient, store: Store) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    headers = {"Idempotency-Key": "deploy-42"}
    first = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK}, headers=headers)
    again = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK}, headers=headers)
    assert first.status_code == 202 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert run_count(store) == 1
    other = await api.post(
        "/api/runs", json={"suite_id": "qa", "model": MOCK}, headers={"Idempotency-Key": "x"}
    )
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_key_make_one_run(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    # As after a start: the provider registry not loaded yet, first looked up by racing
    # request threads.
    monkeypatch.setattr(PROVIDERS, "_entries", {})
    monkeypatch.setattr(PROVIDERS, "_loaded_entry_points", False)
    headers = {"Idempotency-Key": "retry-storm"}
    answers = await asyncio.gather(
        *(
            api.post("/api/runs", json={"suite_id": "qa", "model": MOCK}, headers=headers)
            for _ in range(8)
        )
    )
    assert {a.status_code for a in answers} <= {200, 202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert run_count(store) == 1
    assert sum(a.status_code == 202 for a in answers) == 1


async def test_concurrent_eval_retries_with_one_key_make_one_run(
    api: httpx.AsyncClient, store: Store
) -> None:
    headers = {"Idempotency-Key": "eval-storm"}
    body = {"name": "e", "inputSet": [{"prompt": "hi"}], "model": MOCK}
    answers = await asyncio.gather(
        *(api.post("/api/evals", json=body, headers=headers) for _ in range(8))
    )
    assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert run_count(store) == 1
    assert sum(a.status_code == 202 for a in answers) == 1


async def test_keys_are_per_workspace(api: httpx.AsyncClient, store: Store) -> None:
    keys = workspace_keys(store)
    for team in ("team-a", "team-b"):
        assert (await post_suite(api, suite_data(), keys[team])).status_code == 201
    body = {"suite_id": "qa", "model": MOCK}
    a = await api.post("/api/runs", json=body, headers={**keys["team-a"], "Idempotency-Key": "k"})
    b = await api.post("/api/runs", json=body, headers={**keys["team-b"], "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]


async def test_filters_and_keyset_pages(api: httpx.AsyncClient, store: Store) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    assert (await post_suite(api, suite_data("other"))).status_code == 201
    made = []
    for i in range(5):
        alias = "a" if i % 2 == 0 else "b"
        answer = await submit(api, alias=alias, tags=[f"t{i}"], prompt_version=1 + i % 2)
        made.append(answer.json())
    made.append((await submit(api, suite_id="other")).json())
    done = await finished_run(store)

    async def ids(**params: Any) -> list[str]:
        response = await api.get("/api/runs", params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    newest_first = [done.id] + [r["id"] for r in reversed(made)]
    assert await ids() == newest_first
    assert await ids(suite="other") == [made[5]["id"]]
    assert await ids(alias="a") == [made[4]["id"], made[2]["id"], made[0]["id"]]
    assert await ids(tag="t3") == [made[3]["id"]]
    assert await ids(tag="smoke") == newest_first  # the suite's tag is on every run
    assert await ids(prompt="qa-prompt", prompt_version=1) == [
        made[4]["id"],
        made[2]["id"],
        made[0]["id"],
    ]
    assert await ids(status="completed") == [done.id]
    assert await ids(status="pending", suite="qa", alias="b") == [made[3]["id"], made[1]["id"]]
    middle = made[2]["created_at"]
    assert await ids(created_after=middle) == newest_first[:5]
    assert await ids(created_before=middle) == [made[1]["id"], made[0]["id"]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await ids(created_after=future) == []
    assert (await api.get("/api/runs", params={"status": "bogus"})).status_code == 422

    walked, link, pages = [], "/api/runs?limit=2", 0
    while link:
        page = (await api.get(link)).json()
        walked += [r["id"] for r in page["items"]]
        link, pages = page["next"], pages + 1
    assert walked == newest_first and pages == 4
    assert (await api.get("/api/runs", params={"limit": 201})).status_code == 422
    assert (await api.get("/api/runs", params={"cursor": "bm90LWEtY3Vyc29y"})).status_code == 422
    assert (await api.get("/api/runs", params={"cursor": "!!"})).status_code == 422
    rejected = {"q": "a\x00b", "prompt_version": 0, "limit": 0, "finished": "maybe",
                "created_after": "yesterday", "model": "", "suite": "s" * 201}  # fmt: skip
    for name, value in rejected.items():
        answer = await api.get("/api/runs", params={name: value})
        assert answer.status_code == 422, (name, answer.text)
        assert name in answer.text, (name, answer.text)
    assert (await api.get("/api/runs", params={"unknown": "x"})).status_code == 200


async def test_each_listed_run_is_the_run_its_own_endpoint_answers(
    api: httpx.AsyncClient, store: Store
) -> None:
    """The list builds its JSON from the rows, not the records: each item is the run as
    ``GET /api/runs/{id}`` serialises it, field for field and in the same order."""
    done = await finished_run(store)
    # Its endpoint takes 2 at a time of the 4 asked: its options say so (``in_flight``).
    held = await finished_run(
        store, model=ModelConfig(provider="mock", name="echo", max_connections=2), concurrency=4
    )
    assert (await post_suite(api, suite_data())).status_code == 201
    derived = [{"name": "hit_rate", "expression": "contains / __count"}]
    made = [
        (await submit(api, alias="a", label="l", tags=["t1"], epochs=2, cases=["c1"])).json(),
        (await submit(api, derived_metrics=derived, title="with derived")).json(),
    ]
    archived = (await submit(api)).json()
    assert (await api.post(f"/api/runs/{archived['id']}/cancel")).status_code == 200
    assert (await api.post(f"/api/runs/{archived['id']}/archive")).status_code == 200
    listed = (await api.get("/api/runs")).json()["items"]
    listed += (await api.get("/api/runs", params={"archived": "true"})).json()["items"]
    ids = [made[1]["id"], made[0]["id"], held.id, done.id, archived["id"]]
    assert [r["id"] for r in listed] == ids
    for item in listed:
        own = (await api.get(f"/api/runs/{item['id']}")).json()
        assert item == own
        assert list(item) == list(own) and list(item["options"]) == list(own["options"])
    assert listed[0]["options"]["derived_metrics"] == derived
    assert "derived_metrics" not in listed[1]["options"] and listed[1]["tags"][-1] == "t1"
    assert listed[2]["options"]["in_flight"] == 2 and "in_flight" not in listed[3]["options"]
    assert listed[3]["finished_at"].endswith("Z") and listed[4]["archived_at"].endswith("Z")
    paged = (await api.get("/api/runs", params={"limit": 1})).json()
    assert paged["items"] == listed[:1]
    second = (await api.get(paged["next"])).json()
    assert second["items"] == [listed[1]]


async def test_cancel_resume_archive(api: httpx.AsyncClient, store: Store) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    run = (await submit(api)).json()
    path = f"/api/runs/{run['id']}"
    assert (await api.post(f"{path}/archive")).status_code == 409  # not finished yet
    assert (await api.post(f"{path}/resume")).status_code == 409

    canceled = await api.post(f"{path}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert canceled.json()["cancel_requested"] is True

    resumed = await api.post(f"{path}/resume")
    assert resumed.status_code == 202
    assert resumed.json()["status"] == "pending" and resumed.json()["cancel_requested"] is False
    finished = await evalbook.aresume(run["id"], store=store)  # what the worker does
    assert finished.status.value == "completed" and finished.counts.total == 4
    assert (await api.post(f"{path}/resume")).status_code == 409  # nothing left to do

    archived = await api.post(f"{path}/archive")
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    listed = (await api.get("/api/runs")).json()["items"]
    assert run["id"] not in [r["id"] for r in listed]
    only = (await api.get("/api/runs", params={"archived": "true"})).json()["items"]
    assert [r["id"] for r in only] == [run["id"]]
    assert (await api.get(path)).status_code == 200  # still readable
    assert (await api.post(f"{path}/resume")).status_code == 409
    back = await api.post(f"{path}/unarchive")
    assert back.json()["archived_at"] is None
    assert run["id"] in [r["id"] for r in (await api.get("/api/runs")).json()["items"]]


async def test_runs_of_another_workspace_are_not_found(
    api: httpx.AsyncClient, store: Store
) -> None:
    keys = workspace_keys(store)
    assert (await post_suite(api, suite_data(), keys["team-a"])).status_code == 201
    run = (
        await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK}, headers=keys["team-a"])
    ).json()
    done = await finished_run(store)  # workspace default
    b = keys["team-b"]
    for rid in (run["id"], done.id):
        for method, suffix in [
            ("GET", ""),
            ("POST", "/cancel"),
            ("POST", "/resume"),
            ("POST", "/archive"),
            ("POST", "/unarchive"),
            ("GET", "/results"),
            ("GET", "/results/c1"),
            ("GET", "/feedback"),
            ("GET", "/metrics"),
            ("GET", "/export"),
        ]:
            answer = await api.request(method, f"/api/runs/{rid}{suffix}", headers=b)
            assert answer.status_code == 404, (rid, suffix, answer.text)
    assert (await api.get("/api/runs", headers=b)).json()["items"] == []
    assert (
        await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK}, headers=b)
    ).status_code == 404
    # The owner still sees its own run, unchanged.
    mine = await api.get(f"/api/runs/{run['id']}", headers=keys["team-a"])
    assert mine.json()["status"] == "pending"
    assert (await api.get(f"/api/runs/{done.id}", headers=keys["default"])).status_code == 200


async def test_error_budget_and_retry_options_reach_the_run(
    api: httpx.AsyncClient, store: Store
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    response = await submit(api, max_error_rate=12.5, max_attempts=3, retry_budget_s=90)
    assert response.status_code == 202, response.text
    options = store.get_run(response.json()["id"]).options
    assert options.max_error_rate == 12.5
    assert options.max_attempts == 3 and options.retry_budget_s == 90
    default = (await submit(api)).json()
    assert default["options"]["max_error_rate"] == 0.0  # errored cases fail a run by default
    for bad in ({"max_error_rate": 101}, {"max_attempts": 0}, {"retry_budget_s": 0}):
        assert (await submit(api, **bad)).status_code == 422, bad
