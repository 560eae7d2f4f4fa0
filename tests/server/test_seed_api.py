"""The seeds' own endpoints, field names exactly as seeds 003 and 004 write them."""

from __future__ import annotations

import httpx
import pytest

import evalbook
from evalbook.storage.store import Store
from tests.server.resources import MOCK, finished_run, post_suite, suite_data, workspace_keys

EVAL_KEYS = {
    "id", "name", "templateId", "inputSet", "status", "totalCases", "passedCases",
    "metrics", "startedAt", "completedAt", "tier", "model",
}  # fmt: skip
INPUTS = [
    {"borrower_name": "Budi", "monthly_income": 12000000, "loan_amount": 50000000},
    {"borrower_name": "Siti", "monthly_income": 8500000, "loan_amount": 30000000},
]
TEMPLATE = {
    "id": "borrowers",
    "prompt": {"name": "gtp_borrower", "template": "Summarise {{ borrower_name }}: "
               "income {{ monthly_income }}, loan {{ loan_amount }}"},
    "cases": [{"vars": {"borrower_name": "x", "monthly_income": 1, "loan_amount": 2}}],
}  # fmt: skip


async def test_post_evals_queues_and_get_returns_the_seed_object(
    api: httpx.AsyncClient, store: Store
) -> None:
    assert (await post_suite(api, TEMPLATE)).status_code == 201
    body = {"name": "Borrower-summary prompt v3", "templateId": "gtp_borrower",
            "inputSet": INPUTS, "model": MOCK}  # fmt: skip
    created = await api.post("/api/evals", json=body)
    assert created.status_code == 202, created.text
    row = created.json()
    assert set(row) == EVAL_KEYS
    assert row["status"] == "pending" and row["name"] == body["name"]
    assert row["templateId"] == "gtp_borrower" and row["inputSet"] == INPUTS
    assert row["totalCases"] == 2 and row["passedCases"] == 0
    assert row["metrics"] == {"averageInferenceMs": None, "results": []}
    assert row["startedAt"] is None and row["completedAt"] is None
    assert created.headers["location"] == f"/api/evals/{row['id']}"
    # The answer is built from the suite just made, without reading it back: it is the
    # eval run as the database holds it.
    assert (await api.get(created.headers["location"])).json() == row

    await evalbook.aresume(row["id"], store=store)  # what the worker does
    done = (await api.get(f"/api/evals/{row['id']}")).json()
    assert set(done) == EVAL_KEYS and set(done["metrics"]) == {"averageInferenceMs", "results"}
    assert done["status"] == "completed" and done["totalCases"] == done["passedCases"] == 2
    assert done["startedAt"] and done["completedAt"]
    assert isinstance(done["metrics"]["averageInferenceMs"], int)
    results = done["metrics"]["results"]
    assert [set(r) for r in results] == [{"passed", "outputPreview", "inferenceMs"}] * 2
    assert results[0]["outputPreview"] == "Summarise Budi: income 12000000, loan 50000000"
    assert all(r["passed"] for r in results)

    listed = (await api.get("/api/evals")).json()
    assert [e["id"] for e in listed] == [row["id"]]
    assert set(listed[0]) == EVAL_KEYS - {"inputSet"}
    assert listed[0]["metrics"] == {"averageInferenceMs": done["metrics"]["averageInferenceMs"]}


async def test_evals_without_a_template_send_each_inputs_prompt(
    api: httpx.AsyncClient, store: Store
) -> None:
    long = "x" * 300
    body = {"name": "inline", "inputSet": [{"prompt": long}, {"prompt": ""}], "model": MOCK}
    row = (await api.post("/api/evals", json=body)).json()
    assert row["templateId"] is None
    await evalbook.aresume(row["id"], store=store)
    done = (await api.get(f"/api/evals/{row['id']}")).json()
    # The seed's pass criterion: any non-empty output without an error.
    assert [r["passed"] for r in done["metrics"]["results"]] == [True, False]
    assert done["metrics"]["results"][0]["outputPreview"] == "x" * 200
    assert done["passedCases"] == 1 and done["totalCases"] == 2

    kinds = {"name": "k", "inputSet": [{"_kind": "loan_memo", "a": 1}]}
    refused = await api.post("/api/evals", json=kinds)
    assert refused.status_code == 422 and "_kind" in refused.json()["detail"]
    for bad in (
        {"name": "n", "inputSet": []},
        {"name": "n", "inputSet": [{"prompt": "p"}], "templateId": "missing"},
        {"inputSet": [{"prompt": "p"}]},
        {"name": "n", "inputSet": [{"prompt": "p", "scorers": [{"python": "os:getcwd"}]}]},
        {"name": "n", "inputSet": [{"prompt": "p"}], "model": {"provider": "openai",
                                                               "name": "x", "apiKey": "sk"}},
    ):  # fmt: skip
        answer = await api.post("/api/evals", json=bad)
        assert answer.status_code in (404, 422), (bad, answer.text)


async def test_get_evals_lists_the_50_most_recent_runs_of_the_workspace(
    api: httpx.AsyncClient, store: Store
) -> None:
    keys = workspace_keys(store)
    for i in range(52):
        body = {"name": f"e{i}", "inputSet": [{"prompt": f"p{i}"}], "model": MOCK}
        assert (await api.post("/api/evals", json=body, headers=keys["team-a"])).status_code == 202
    listed = (await api.get("/api/evals", headers=keys["team-a"])).json()
    assert len(listed) == 50 and listed[0]["name"] == "e51" and listed[-1]["name"] == "e2"
    assert (await api.get("/api/evals", headers=keys["team-b"])).json() == []
    other = await api.get(f"/api/evals/{listed[0]['id']}", headers=keys["team-b"])
    assert other.status_code == 404
    done = await finished_run(store)  # any run of the workspace reads as an eval run
    seen = (await api.get(f"/api/evals/{done.id}", headers=keys["default"])).json()
    assert seen["templateId"] == "qa-prompt" and seen["passedCases"] == 3
    assert seen["inputSet"][0] == {"q": "capital of france paris"}


async def test_each_listed_eval_is_its_own_eval_run_without_inputs_and_results(
    api: httpx.AsyncClient, store: Store
) -> None:
    """The list reads only the columns a summary needs: every field equals the one
    ``GET /api/evals/{id}`` answers (finished, canceled, pending, inline and templated)."""
    done = await finished_run(store)
    assert (await post_suite(api, TEMPLATE)).status_code == 201
    templated = {"name": "t", "templateId": "gtp_borrower", "inputSet": INPUTS, "model": MOCK}
    inline = {"name": "i", "inputSet": [{"prompt": "p"}], "model": MOCK}
    pending = (await api.post("/api/evals", json=templated)).json()
    canceled = (await api.post("/api/evals", json=inline)).json()
    assert (await api.post(f"/api/runs/{canceled['id']}/cancel")).status_code == 200
    listed = (await api.get("/api/evals")).json()
    assert [e["id"] for e in listed] == [canceled["id"], pending["id"], done.id]
    for summary in listed:
        full = (await api.get(f"/api/evals/{summary['id']}")).json()
        del full["inputSet"], full["metrics"]["results"]
        assert summary == full
    by_id = {e["id"]: e for e in listed}
    assert by_id[canceled["id"]]["status"] == "failed" and by_id[canceled["id"]]["completedAt"]
    assert by_id[canceled["id"]]["templateId"] is None
    assert by_id[pending["id"]]["templateId"] == "gtp_borrower"
    assert by_id[pending["id"]]["completedAt"] is None and by_id[pending["id"]]["model"] == MOCK
    finished = by_id[done.id]
    assert finished["status"] == "completed" and finished["passedCases"] == 3
    assert finished["startedAt"].endswith("Z") and finished["completedAt"].endswith("Z")
    assert finished["metrics"]["averageInferenceMs"] is not None
    chat_input = {"messages": [{"role": "user", "content": "hi"}]}
    kinds = {"name": "k", "model": MOCK, "inputSet": [{"prompt": "a"}, chat_input]}
    chat = await api.post("/api/evals", json=kinds)
    assert chat.status_code == 202, chat.text
    assert (await api.get(chat.headers["location"])).json() == chat.json()
    assert chat.json()["inputSet"] == kinds["inputSet"]


async def test_run_a_prompt_eval_and_poll_its_status(api: httpx.AsyncClient, store: Store) -> None:
    assert (await post_suite(api, suite_data("1"))).status_code == 201
    body = {"suiteId": 1, "versionNo": 1, "testIds": ["c1", "c3"],
            "modelConfig": {"model": MOCK, "temperature": 0.7}}  # fmt: skip
    created = await api.post("/api/prompts/1-prompt/eval/run", json=body)
    assert created.status_code == 202, created.text
    run = created.json()
    assert set(run) == {"id", "promptId", "suiteId", "versionNo", "status", "testIds", "createdAt"}
    assert run["status"] == "pending" and run["suiteId"] == "1" and run["versionNo"] == 1
    assert run["testIds"] == ["c1", "c3"]
    status_path = f"/api/prompts/1-prompt/eval/runs/{run['id']}/status"
    assert created.headers["location"] == status_path
    assert (await api.get(status_path)).json() == {"status": "pending"}

    record = (await api.get(f"/api/runs/{run['id']}")).json()
    assert record["model"]["temperature"] == 0.7 and record["prompt_version"] == 1
    await evalbook.aresume(run["id"], store=store)
    assert (await api.get(status_path)).json() == {"status": "completed"}

    canceled = (await api.post("/api/prompts/1-prompt/eval/run", json=body)).json()
    await api.post(f"/api/runs/{canceled['id']}/cancel")
    other_status = f"/api/prompts/1-prompt/eval/runs/{canceled['id']}/status"
    assert (await api.get(other_status)).json() == {"status": "failed"}  # the seed's words
    assert (await api.get(f"/api/prompts/other/eval/runs/{run['id']}/status")).status_code == 404

    for change in (
        {"suiteId": "nope"},
        {"versionNo": 5},
        {"testIds": ["zz"]},
        {"modelConfig": {"model": "gpt-4o", "apiKey": "sk-live"}},
        {"modelConfig": {"model": "mock:echo", "temperature": "hot"}},
    ):
        answer = await api.post("/api/prompts/1-prompt/eval/run", json={**body, **change})
        assert answer.status_code in (404, 422), (change, answer.text)
    wrong = await api.post("/api/prompts/not-its-prompt/eval/run", json=body)
    assert wrong.status_code == 422 and "uses prompt" in wrong.json()["detail"]


async def test_a_bare_model_name_is_an_openai_model(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await post_suite(api, suite_data("1"))).status_code == 201
    body = {"suiteId": "1", "versionNo": 2, "modelConfig": {"model": "gpt-4o", "maxTokens": 64}}
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    missing = await api.post("/api/prompts/1-prompt/eval/run", json=body)
    assert missing.status_code == 422 and "OPENAI_API_KEY" in missing.json()["detail"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    not_offered = await api.post("/api/prompts/1-prompt/eval/run", json=body)
    assert not_offered.status_code == 422 and "--provider-secret" in not_offered.text
    monkeypatch.setenv("EVALBOOK_PROVIDER_SECRETS", "OPENAI_API_KEY")
    answer = await api.post("/api/prompts/1-prompt/eval/run", json=body)
    assert answer.status_code == 202
    run = (await api.get(f"/api/runs/{answer.json()['id']}")).json()
    assert run["model"]["provider"] == "openai" and run["model"]["name"] == "gpt-4o"
    assert run["model"]["max_tokens"] == 64 and run["prompt_version"] == 2
