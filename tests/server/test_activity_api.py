"""The web pages' JSON twins: the board, the dashboard, launch options, the pre-flight
estimate, the workspace's multiplexed event stream and case images — on SQLite and
PostgreSQL, scoped to the key's workspace."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from evalbook.core.model_config import ModelConfig
from evalbook.storage import run_events
from evalbook.storage.store import Store

from .live import live_server, read_frames
from .resources import MOCK, finished_run, serve, suite_data, workspace_keys

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def test_board_and_dashboard_answer_the_pages_queries(store: Store) -> None:
    done = [await finished_run(store) for _ in range(2)]
    async with serve(store) as (api, _woken):
        pending = await api.post("/api/suites", json=suite_data("other"))
        assert pending.status_code == 201
        queued = (await api.post("/api/runs", json={"suite_id": "other", "model": MOCK})).json()
        board = (await api.get("/api/board")).json()
        dashboard = (await api.get("/api/dashboard")).json()
    ids = [card["run"]["id"] for card in board["cards"]]
    assert ids[0] == queued["id"] and set(ids) == {queued["id"], *(r.id for r in done)}
    cells = {c["run"]["id"]: c["grid"] for c in board["cards"]}
    assert cells[queued["id"]]["cells"] == [["pending", 0, f"c{i}", 0] for i in range(1, 5)]
    finished = cells[done[0].id]["cells"]
    assert [c[0] for c in finished] == ["passed", "passed", "failed", "passed"]
    assert dashboard["active"][0]["id"] == queued["id"] and len(dashboard["active"]) == 1
    assert [r["id"] for r in dashboard["recent"]] == [done[1].id, done[0].id]
    assert dashboard["readiness"] == [
        {
            "suite_id": "qa",
            "suite_name": "Question answering",
            "completed": 2,
            "runs": [done[1].id, done[0].id],
            "compare": f"/compare?runs={done[0].id},{done[1].id}",
        }
    ]
    assert dashboard["newest_failure"]["id"] == done[1].id  # c3 failed in each


async def test_other_workspaces_see_nothing(store: Store) -> None:
    keys = workspace_keys(store)
    async with serve(store) as (api, _):
        await api.post("/api/suites", json=suite_data(), headers=keys["team-a"])
        body = {"suite_id": "qa", "model": MOCK}
        mine = (await api.post("/api/runs", json=body, headers=keys["team-a"])).json()
        theirs = (await api.get("/api/board", headers=keys["team-b"])).json()
        assert theirs["cards"] == []
        dash = (await api.get("/api/dashboard", headers=keys["team-b"])).json()
        assert dash["active"] == [] and dash["recent"] == []
        other = await api.get(f"/api/launch-options?from={mine['id']}", headers=keys["team-b"])
        assert other.status_code == 404
        options = (await api.get("/api/launch-options", headers=keys["team-b"])).json()
        assert options["suites"] == [] and "python" not in options["providers"]


async def test_launch_options_and_estimate(store: Store) -> None:
    run = await finished_run(store, model=ModelConfig(provider="mock", name="echo", max_tokens=20))
    async with serve(store) as (api, _):
        options = (await api.get(f"/api/launch-options?from={run.id}")).json()
        assert options["source"]["id"] == run.id
        assert {"openai", "mock", "openai-compatible"} <= set(options["providers"])
        assert options["suites"] == [
            {"suite_id": "qa", "version": "1", "name": "Question answering", "cases": 4}
        ]
        assert options["models"][0]["config"]["name"] == "echo"
        priced = {
            "provider": "mock",
            "name": "echo",
            "max_tokens": 100,
            "price": {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0},
        }
        body = {"suite_id": "qa", "model": priced, "epochs": 2, "max_cost": 0.5}
        estimate = (await api.post("/api/runs/estimate", json=body)).json()
        assert estimate["items"] == 8 and estimate["cases"] == 4 and estimate["epochs"] == 2
        assert estimate["input_tokens"] > 0 and estimate["max_output_tokens"] == 800
        worst = (estimate["input_tokens"] * 1000 + 800 * 2000) / 1e6
        assert abs(estimate["cost_max"] - worst) < 1e-9
        assert estimate["price_known"] and estimate["over_budget"] is (worst > 0.5)
        unknown = "openai-compatible:m@http://127.0.0.1:9/v1"
        unpriced = await api.post("/api/runs/estimate", json={"suite_id": "qa", "model": unknown})
        assert unpriced.json()["cost_max"] is None and not unpriced.json()["price_known"]
        bad = await api.post(
            "/api/runs/estimate", json={"suite_id": "qa", "model": MOCK, "prompt_version": 9}
        )
        assert bad.status_code == 422 and "9" in bad.json()["detail"]
        missing = await api.post("/api/runs/estimate", json={"suite_id": "nope", "model": MOCK})
        assert missing.status_code == 404
    assert len(store.list_runs()) == 1  # estimating records nothing


async def test_the_estimate_counts_judge_calls_and_a_datasets_cases(store: Store) -> None:
    """The model's cost, each judge model's (its calls: the judge scorers per case ×
    epochs) and the total; an unknown price is ``None`` and so is every total it is in."""
    priced = {
        "provider": "mock",
        "name": "echo",
        "max_tokens": 100,
        "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
    }
    judge = {
        "provider": "mock",
        "name": "judge",
        "max_tokens": 50,
        "price": {"input_per_mtok": 10.0, "output_per_mtok": 20.0},
    }
    async with serve(store) as (api, _):
        assert (await api.post("/api/suites", json=suite_data())).status_code == 201
        body = {
            "suite_id": "qa",
            "model": priced,
            "epochs": 2,
            "judge": {"model": judge, "rubric": "Correct?"},
        }
        e = (await api.post("/api/runs/estimate", json=body)).json()
        assert e["items"] == 8 and e["judge_calls"] == 8
        (j,) = e["judges"]
        assert j["model"] == "mock:judge" and j["calls"] == 8 and j["price_known"]
        assert j["max_output_tokens"] == 50 * 8
        # The judge reads every answer (at the model's max_tokens) besides the prompt.
        assert j["input_tokens"] > 100 * 8 + e["input_tokens"]
        assert abs(j["cost_max"] - (j["input_tokens"] * 10 + 400 * 20) / 1e6) < 1e-12
        assert e["judge_cost_max"] == j["cost_max"] and e["judge_price_known"]
        assert abs(e["total_cost_max"] - (e["cost_max"] + j["cost_max"])) < 1e-12

        unpriced_judge = {"model": "openai-compatible:j@http://127.0.0.1:9/v1", "rubric": "Ok?"}
        e = (await api.post("/api/runs/estimate", json={**body, "judge": unpriced_judge})).json()
        assert e["judges"][0]["price_known"] is False and e["judges"][0]["cost_max"] is None
        assert e["judge_cost_max"] is None and e["total_cost_max"] is None
        assert e["cost_max"] is not None and not e["judge_price_known"]

        plain = await api.post("/api/runs/estimate", json={"suite_id": "qa", "model": priced})
        plain_e = plain.json()
        assert plain_e["judges"] == [] and plain_e["judge_calls"] == 0
        assert plain_e["judge_cost_max"] == 0 and plain_e["total_cost_max"] == plain_e["cost_max"]

        rows = "".join(f'{{"id": "d{i}", "q": "row {i}", "expected": "row"}}\n' for i in range(7))
        uploaded = await api.post(
            "/api/suites/qa/datasets",
            content=rows.encode(),
            headers={"content-type": "application/jsonl"},
        )
        assert uploaded.status_code == 201, uploaded.text
        version = uploaded.json()["version"]
        e = (await api.post("/api/runs/estimate", json={**body, "suite_version": version})).json()
        assert e["cases"] == 7 and e["items"] == 14 and e["judge_calls"] == 14
    assert store.list_runs() == []  # estimating records nothing


async def test_run_list_filters_model_text_and_finished(store: Store) -> None:
    run = await finished_run(store)
    async with serve(store) as (api, _):
        await api.post(
            "/api/runs",
            json={
                "suite_id": "qa",
                "model": {"provider": "mock", "name": "constant", "params": {"text": "x"}},
                "alias": "zed",
            },
        )
        page = (await api.get("/api/runs", params={"model": "mock:echo"})).json()
        assert [r["id"] for r in page["items"]] == [run.id]
        assert len((await api.get("/api/runs", params={"model": "constant"})).json()["items"]) == 1
        assert len((await api.get("/api/runs", params={"q": "ZED"})).json()["items"]) == 1
        assert len((await api.get("/api/runs", params={"q": "100%_"})).json()["items"]) == 0
        finished = (await api.get("/api/runs", params={"finished": "true"})).json()
        assert [r["id"] for r in finished["items"]] == [run.id]


async def test_workspace_stream_multiplexes_runs_and_resumes(store: Store) -> None:
    keys = workspace_keys(store)
    with live_server(store) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for team in ("team-a", "team-b"):
                await client.post("/api/suites", json=suite_data(), headers=keys[team])
            body = {"suite_id": "qa", "model": MOCK}
            a1 = (await client.post("/api/runs", json=body, headers=keys["team-a"])).json()["id"]
            a2 = (await client.post("/api/runs", json=body, headers=keys["team-a"])).json()["id"]
            b1 = (await client.post("/api/runs", json=body, headers=keys["team-b"])).json()["id"]
            start = (await client.get("/api/board", headers=keys["team-a"])).json()
            cursor = start["last_event_id"]

            def item(case: str, seq: int) -> dict[str, Any]:
                return {"case_id": case, "epoch": 0, "status": "passed", "seq": seq}

            run_events.append_events(
                store,
                [
                    (a1, "item", item("c1", 0)),
                    (b1, "item", item("c1", 0)),
                    (a2, "item", item("c2", 1)),
                    (a1, "item", item("c2", 1)),
                ],
            )
            headers = keys["team-a"]
            async with client.stream(
                "GET", f"/api/events?after={cursor}", headers=headers
            ) as response:
                assert response.status_code == 200
                frames = await read_frames(
                    response, until=lambda f: len([x for x in f if x.data]) == 3
                )
            events = [f for f in frames if f.data]
            assert [(e.json()["run_id"], e.json()["case_id"]) for e in events] == [
                (a1, "c1"),
                (a2, "c2"),
                (a1, "c2"),
            ]
            # Resume after the second event: only the third comes again.
            resume = {**headers, "Last-Event-ID": events[1].id or ""}
            async with client.stream("GET", "/api/events", headers=resume) as response:
                again = await read_frames(response, until=lambda f: any(x.data for x in f))
            assert [f.json()["case_id"] for f in again if f.data] == ["c2"]
            assert [f.id for f in again if f.data] == [events[2].id]
            bad = await client.get("/api/events", headers={**headers, "Last-Event-ID": "x"})
            assert bad.status_code == 422


async def test_case_images_are_served_only_for_the_run(store: Store) -> None:
    sha = hashlib.sha256(PNG).hexdigest()
    image = {"media_type": "image/png", "data": base64.b64encode(PNG).decode()}
    data = suite_data()
    data["cases"][0]["assets"] = [image]
    keys = workspace_keys(store)
    async with serve(store) as (api, _):
        assert (await api.post("/api/suites", json=data, headers=keys["team-a"])).status_code == 201
        body = {"suite_id": "qa", "model": MOCK}
        run = (await api.post("/api/runs", json=body, headers=keys["team-a"])).json()
        got = await api.get(f"/api/runs/{run['id']}/images/{sha}", headers=keys["team-a"])
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-security-policy"] == "default-src 'none'"
        other = await api.get(f"/api/runs/{run['id']}/images/{sha}", headers=keys["team-b"])
        assert other.status_code == 404
        unknown = await api.get(f"/api/runs/{run['id']}/images/{'0' * 64}", headers=keys["team-a"])
        assert unknown.status_code == 404
