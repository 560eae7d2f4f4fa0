"""Derived metrics of a run submitted to the server: ``POST /api/runs`` takes them (the
stored suite is its hashed definition, which leaves them out), the run keeps them in its
options, and the worker that finishes it computes ``metrics["derived"]``."""

from __future__ import annotations

from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.worker.claimed import execute_claimed
from tests.server.resources import MOCK, post_suite, serve, suite_data, workspace_keys

from .test_runs_api import run_count

_DERIVED = [
    {"name": "hit_rate", "expression": "contains / __count"},
    {"name": "hits_pct", "expression": "hit_rate * 100"},
]


async def test_a_server_run_computes_the_derived_metrics_it_was_given(store: Store) -> None:
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        answer = await api.post(
            "/api/runs", json={"suite_id": "qa", "model": MOCK, "derived_metrics": _DERIVED}
        )
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["id"]
        assert answer.json()["options"]["derived_metrics"] == _DERIVED
        assert queue.claim(store, "w1", lease_s=30) == run_id
        assert await execute_claimed(store, run_id, "w1", lease_s=30) is not None
        got = (await api.get(f"/api/runs/{run_id}")).json()
    # the echo holds the expected text for c1, c2 and c4 of the four cases
    assert got["status"] == "completed"
    assert got["metrics"]["derived"] == {"hit_rate": 0.75, "hits_pct": 75.0}


async def test_a_run_without_them_records_its_options_as_before(store: Store) -> None:
    async with serve(store) as (api, _woken):
        assert (await post_suite(api, suite_data())).status_code == 201
        answer = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
        assert answer.status_code == 202, answer.text
        assert "derived_metrics" not in answer.json()["options"]
        run_id = answer.json()["id"]
        assert queue.claim(store, "w1", lease_s=30) == run_id
        await execute_claimed(store, run_id, "w1", lease_s=30)
        assert "derived" not in (await api.get(f"/api/runs/{run_id}")).json()["metrics"]


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
        answer = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["id"]
        assert answer.json()["options"]["derived_metrics"] == _DERIVED
        assert queue.claim(store, "w1", lease_s=30) == run_id
        assert await execute_claimed(store, run_id, "w1", lease_s=30) is not None
        got = (await api.get(f"/api/runs/{run_id}")).json()
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
