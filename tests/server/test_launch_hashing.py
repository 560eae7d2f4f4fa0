"""A suite's content hash reads every case (0.5 s at 100,000 cases), so a run is
launched without taking it more than it must: a run of a registered suite version takes
the hash the version is registered under (none again), a judged version is hashed once
(as it is registered), and ``prepare_run`` of a suite with no hash known hashes it once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from evalbook.core.suite import Suite
from evalbook.executor.launch import prepare_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from tests.server.resources import MOCK, post_suite, suite_data


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the suites whose content hash is taken meanwhile."""
    taken: list[str] = []
    plain = Suite.hash

    def counted(self: Suite) -> str:
        taken.append(self.id)
        return plain.fget(self)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(Suite, "hash", property(counted))
    return taken


async def test_a_run_of_a_registered_version_takes_its_registered_hash(
    api: httpx.AsyncClient, store: Store, hashed: list[str]
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    registered = (await api.get("/api/suites/qa")).json()["versions"][0]["hash"]
    hashed.clear()
    for _ in range(2):
        created = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
        assert created.status_code == 202, created.text
        run = store.get_run(created.json()["id"])
        assert run.suite_hash == registered
        assert store.get_suite(run.suite_hash).id == "qa"
    assert hashed == []

    judge = {"provider": "openai-compatible", "name": "judge-model",
             "base_url": "http://127.0.0.1:9/v1"}  # fmt: skip
    body = {"suite_id": "qa", "model": MOCK, "judge": {"model": judge, "rubric": "Polite?"}}
    created = await api.post("/api/runs", json=body)
    assert created.status_code == 202, created.text
    assert hashed == ["qa"]  # the judged version, once, as it was registered
    run = store.get_run(created.json()["id"])
    assert run.suite_version.startswith("1+judge-")
    assert run.suite_hash == store.get_suite(run.suite_hash).hash


def test_prepare_run_hashes_a_suite_once(store: Store, hashed: list[str]) -> None:
    data: dict[str, Any] = {
        "id": "once",
        "prompt": "q {{ i }}",
        "scorers": [{"contains": "7"}],
        "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(5)],
    }
    suite = load_suite_from_dict(data)
    hashed.clear()
    job = prepare_run(store, suite, model=MOCK)
    assert hashed == ["once"]
    assert store.get_run(job.run.id).suite_hash == store.get_suite(job.run.suite_hash).hash
