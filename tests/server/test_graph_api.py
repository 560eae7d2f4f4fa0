"""Seed 000's product-graph view: BaseNode objects of every type and the two edge types."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from evalbook.storage.store import Store
from tests.server.resources import finished_run, workspace_keys

BASE = {"id", "type", "title", "description", "status", "tags"}
RUN_FIELDS = {
    "run_date", "score", "passed", "duration_ms", "token_count", "input_token_count",
    "output_token_count", "cost", "error_rate", "feedback_scores",
}  # fmt: skip


async def _all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    link: str | None = path
    first = True
    while link:
        response = await api.get(link, params=params if first else None)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        link, first = response.json()["next"], False
    return items


async def test_nodes_and_edges_of_the_workspace(api: httpx.AsyncClient, store: Store) -> None:
    a = await finished_run(store)
    b = await finished_run(store, prompt_version=1)
    nodes = await _all(api, "/api/graph/nodes", limit=7)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        assert set(node) >= BASE and str(uuid.UUID(node["id"])) == node["id"]
        by_type.setdefault(node["type"], []).append(node)
    assert set(by_type) == {"eval_run", "eval_benchmark", "metric", "ai_model", "prompt_version"}
    assert [n["type"] for n in nodes[:2]] == ["eval_run", "eval_run"]  # types in order

    runs = by_type["eval_run"]
    assert [r["id"] for r in runs] == [b.id, a.id]
    assert set(runs[0]) >= RUN_FIELDS and runs[1]["score"] == 0.75 and runs[1]["passed"] is True
    assert runs[1]["status"] == "completed" and runs[1]["run_date"] == a.run_date
    (bench,) = by_type["eval_benchmark"]
    assert bench["suite_id"] == "qa" and bench["case_count"] == 4
    assert [m["title"] for m in by_type["ai_model"]] == ["mock:echo"]
    assert sorted(p["title"] for p in by_type["prompt_version"]) == ["qa-prompt v1", "qa-prompt v2"]
    metrics = by_type["metric"]
    assert len(metrics) == len(store.get_metrics(a.id)) + len(store.get_metrics(b.id))
    only = await _all(api, "/api/graph/nodes", type="metric", limit=200)
    assert only == metrics

    edges = await _all(api, "/api/graph/edges", limit=9)
    executed = [e for e in edges if e["type"] == "eval_benchmark_executed_as_eval_run"]
    produces = [e for e in edges if e["type"] == "eval_run_produces_metric"]
    assert len(edges) == len(executed) + len(produces)
    assert {(e["source"], e["target"]) for e in executed} == {
        (bench["id"], a.id),
        (bench["id"], b.id),
    }
    metric_ids = {m["id"]: m for m in metrics}
    assert {e["target"] for e in produces} == set(metric_ids)
    assert all(metric_ids[e["target"]]["run_id"] == e["source"] for e in produces)
    typed = await _all(api, "/api/graph/edges", type="eval_run_produces_metric", limit=200)
    assert typed == produces
    assert (await api.get("/api/graph/nodes", params={"type": "person"})).status_code == 422

    again = await _all(api, "/api/graph/nodes", limit=200)
    assert again == nodes  # ids are stable


async def test_the_graph_is_scoped_by_workspace(api: httpx.AsyncClient, store: Store) -> None:
    keys = workspace_keys(store)
    await finished_run(store)
    assert (await api.get("/api/graph/nodes", headers=keys["team-a"])).json()["items"] == []
    assert (await api.get("/api/graph/edges", headers=keys["team-a"])).json()["items"] == []
    mine = (await api.get("/api/graph/nodes", headers=keys["default"])).json()["items"]
    assert mine
