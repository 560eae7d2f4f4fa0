"""Derived metrics of a run submitted to the server: ``POST /api/runs`` takes them (the
stored suite is its hashed definition, which leaves them out), the run keeps them in its
options, and the worker that finishes it computes ``metrics["derived"]``."""

from __future__ import annotations

import json
from typing import Any

import httpx

from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.worker.claimed import execute_claimed
from tests.server.resources import MOCK, post_suite, serve, suite_data, workspace_keys

from .test_runs_api import run_count

_DERIVED = [
    {"name": "hit_rate", "expression": "contains / __count"},
    {"name": "hits_pct", "expression": "hit_rate * 100"},
]


async def _launch_and_execute(
    api: httpx.AsyncClient, store: Store, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Launch the run ``body`` describes, execute it as a worker would, and return the
    launch's answer and the finished run as the API shows them."""
    answer = await api.post("/api/runs", json=body)
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    assert queue.claim(store, "w1", lease_s=30) == run_id
    assert await execute_claimed(store, run_id, "w1", lease_s=30) is not None
    return answer.json(), (await api.get(f"/api/runs/{run_id}")).json()


async def test_a_server_run_computes_the_derived_metrics_it_was_given(store: Store) -> None:
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        body = {"suite_id": "qa", "model": MOCK, "derived_metrics": _DERIVED}
        launched, got = await _launch_and_execute(api, store, body)
    assert launched["options"]["derived_metrics"] == _DERIVED
    # the echo holds the expected text for c1, c2 and c4 of the four cases
    assert got["status"] == "completed"
    assert got["metrics"]["derived"] == {"hit_rate": 0.75, "hits_pct": 75.0}


async def test_a_run_without_them_records_its_options_as_before(store: Store) -> None:
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        launched, got = await _launch_and_execute(api, store, {"suite_id": "qa", "model": MOCK})
    assert "derived_metrics" not in launched["options"]
    assert got["status"] == "completed" and "derived" not in got["metrics"]


async def test_an_expression_that_is_not_arithmetic_is_refused_and_nothing_recorded(
    store: Store,
) -> None:
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        for bad in (
            [{"name": "x", "expression": "__import__('os')"}],
            [{"name": "x", "expression": "contains +"}],
            [{"name": "x"}],
            [{"name": "x", "expression": "contains", "extra": 1}],
        ):
            answer = await api.post(
                "/api/runs", json={"suite_id": "qa", "model": MOCK, "derived_metrics": bad}
            )
            assert answer.status_code == 422, (bad, answer.text)
        assert "derived_metrics" in answer.text
    assert run_count(store) == 0


async def test_a_run_of_a_suite_registered_with_derived_metrics_computes_them(
    store: Store,
) -> None:
    """The suite's own ``derived_metrics:`` (not in its content hash) are kept with the
    workspace's registration, and a run launched from it, naming none, computes them."""
    async with serve(store) as (api, _woken):
        data = {**suite_data(), "derived_metrics": _DERIVED}
        assert (await post_suite(api, data)).status_code == 201
        launched, got = await _launch_and_execute(api, store, {"suite_id": "qa", "model": MOCK})
        assert launched["options"]["derived_metrics"] == _DERIVED
        # A run that names its own keeps them instead of the suite's.
        own = [{"name": "hits", "expression": "contains"}]
        answer = await api.post(
            "/api/runs", json={"suite_id": "qa", "model": MOCK, "derived_metrics": own}
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["options"]["derived_metrics"] == own
    assert got["status"] == "completed"
    assert got["metrics"]["derived"] == {"hit_rate": 0.75, "hits_pct": 75.0}


async def test_the_same_suite_registered_in_another_workspace_keeps_its_own(
    store: Store,
) -> None:
    """The definition is shared (content-addressed) by every workspace; the derived metrics
    belong to each registration: one registered without them launches runs without."""
    keys = workspace_keys(store)
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data(), keys["team-a"])).status_code == 201
        data = {**suite_data(), "derived_metrics": _DERIVED}
        assert (await post_suite(api, data, keys["team-b"])).status_code == 201
        body = {"suite_id": "qa", "model": MOCK}
        plain = await api.post("/api/runs", json=body, headers=keys["team-a"])
        derived = await api.post("/api/runs", json=body, headers=keys["team-b"])
    assert plain.status_code == derived.status_code == 202, (plain.text, derived.text)
    assert "derived_metrics" not in plain.json()["options"]
    assert derived.json()["options"]["derived_metrics"] == _DERIVED


async def test_registering_the_same_suite_again_takes_its_new_derived_metrics(
    store: Store,
) -> None:
    """Derived metrics are not part of the suite's content: posting the same cases again
    with other (or no) derived metrics answers ``exists`` and later runs use the new ones;
    a run launched before keeps the ones it was launched with."""
    async with serve(store) as (api, _woken):
        assert (
            await post_suite(api, {**suite_data(), "derived_metrics": _DERIVED})
        ).status_code == 201
        first, _ = await _launch_and_execute(api, store, {"suite_id": "qa", "model": MOCK})
        own = [{"name": "misses", "expression": "__count - contains"}]
        again = await post_suite(api, {**suite_data(), "derived_metrics": own})
        assert again.status_code == 200, again.text
        second, got = await _launch_and_execute(api, store, {"suite_id": "qa", "model": MOCK})
        assert (await post_suite(api, suite_data())).status_code == 200
        third = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
        before = (await api.get(f"/api/runs/{first['id']}")).json()
    assert first["options"]["derived_metrics"] == _DERIVED
    assert before["metrics"]["derived"] == {"hit_rate": 0.75, "hits_pct": 75.0}
    assert second["options"]["derived_metrics"] == own
    assert got["metrics"]["derived"] == {"misses": 1.0}
    assert "derived_metrics" not in third.json()["options"]


async def test_a_dataset_version_keeps_the_derived_metrics_of_its_base(store: Store) -> None:
    """A dataset uploaded onto a suite makes a new version with the base's scorers and
    prompt, and its derived metrics: runs of the new version compute them."""
    rows = [
        {"id": "d1", "q": "say yes", "expected": "yes"},
        {"id": "d2", "q": "say no", "expected": "maybe"},
    ]
    async with serve(store) as (api, _woken):
        assert (
            await post_suite(api, {**suite_data(), "derived_metrics": _DERIVED})
        ).status_code == 201
        created = await api.post(
            "/api/suites/qa/datasets",
            content="".join(json.dumps(r) + "\n" for r in rows).encode(),
            headers={"Content-Type": "application/jsonl"},
            params={"version": "data-2"},
        )
        assert created.status_code == 201, created.text
        body = {"suite_id": "qa", "suite_version": "data-2", "model": MOCK}
        launched, got = await _launch_and_execute(api, store, body)
    assert launched["options"]["derived_metrics"] == _DERIVED
    assert got["counts"]["total"] == 2
    assert got["metrics"]["derived"] == {"hit_rate": 0.5, "hits_pct": 50.0}
