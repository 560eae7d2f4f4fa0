"""Seed 004's generation kinds and model tiers over HTTP: inputs with ``_kind`` and no
``templateId`` run through the kind on the standard tier; a tier change in the settings
changes the next run's model and the record says which; bad kinds and tiers are 422s."""

from __future__ import annotations

import json

import httpx
import pytest

import evalbook
from evalbook.core.kind import GenerationKind, KindMessage
from evalbook.prompts.kinds import KINDS
from evalbook.storage.store import Store

SEED_BODY = {
    "name": "Borrower-summary prompt v3",
    "inputSet": [
        {"_kind": "summarize", "text": "Budi earns 12,000,000 a month and asks for 50,000,000."},
        {"_kind": "classify", "text": "My card was charged twice.", "labels": ["billing", "fraud"]},
    ],
}


@pytest.fixture
def tiers(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Tiers on mock models (the embedded model is the default, too slow for here)."""
    mapping: dict[str, object] = {"standard": "mock:echo", "fast": "mock:echo"}
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps(mapping))
    return mapping


async def test_seed_004s_body_runs_through_the_kinds_on_the_standard_tier(
    api: httpx.AsyncClient, store: Store, tiers: dict[str, object]
) -> None:
    created = await api.post("/api/evals", json=SEED_BODY)
    assert created.status_code == 202, created.text
    row = created.json()
    assert row["tier"] == "standard" and row["model"] == "mock:echo"
    await evalbook.aresume(row["id"], store=store)  # what the worker does
    done = (await api.get(f"/api/evals/{row['id']}")).json()
    assert done["status"] == "completed" and done["passedCases"] == done["totalCases"] == 2
    summary, label = (r["outputPreview"] for r in done["metrics"]["results"])
    assert summary.startswith("Summarize the following text in at most 80 words")
    assert "Budi earns 12,000,000" in summary
    assert label.startswith("Labels: billing, fraud")
    assert done["inputSet"][1]["labels"] == ["billing", "fraud"]
    result = store.get_result(row["id"], "input-1")
    assert result.messages[0].role == "system" and "faithfully" in result.messages[0].text
    assert "kind:summarize" in result.tags
    assert {s.type for s in result.scores} >= {"non-empty", "not-is-refusal"}
    run = (await api.get(f"/api/runs/{row['id']}")).json()
    assert run["tier"] == "standard" and run["model"]["name"] == "echo"


#: Seed 004's request body, word for word, without ``templateId`` and with each input
#: naming the built-in kinds the seed gives as its examples.
SEED_004_OWN_BODY = {
    "name": "Borrower-summary prompt v3",
    "inputSet": [
        {
            "_kind": "borrower_summary",
            "borrower_name": "Budi",
            "monthly_income": 12000000,
            "loan_amount": 50000000,
        },
        {
            "_kind": "borrower_summary",
            "borrower_name": "Siti",
            "monthly_income": 8500000,
            "loan_amount": 30000000,
        },
        {"_kind": "complaint_classify", "text": "I was charged a late fee twice this month."},
    ],
}


async def test_seed_004s_own_request_body_answers_202_and_completes(
    api: httpx.AsyncClient, store: Store, tiers: dict[str, object]
) -> None:
    created = await api.post("/api/evals", json=SEED_004_OWN_BODY)
    assert created.status_code == 202, created.text
    assert created.headers["location"] == f"/api/evals/{created.json()['id']}"
    row = created.json()
    assert row["status"] == "pending" and row["templateId"] is None
    assert row["tier"] == "standard" and row["model"] == "mock:echo"
    await evalbook.aresume(row["id"], store=store)  # what the worker does
    done = (await api.get(f"/api/evals/{row['id']}")).json()
    assert done["status"] == "completed", done
    assert done["totalCases"] == done["passedCases"] == 3
    assert done["name"] == "Borrower-summary prompt v3" and done["completedAt"]
    budi, siti, complaint = done["metrics"]["results"]
    assert budi["passed"] and siti["passed"] and complaint["passed"]
    # The echo model answers with what it was sent: the kind's message, the seed's figures.
    assert budi["outputPreview"].startswith("Loan application\nBorrower: Budi\n")
    assert "Monthly income: 12000000\nRequested loan: 50000000" in budi["outputPreview"]
    assert "Borrower: Siti" in siti["outputPreview"] and len(siti["outputPreview"]) == 200
    assert complaint["outputPreview"].startswith("Categories: billing, fraud, collections")
    assert all(isinstance(r["inferenceMs"], int) for r in done["metrics"]["results"])
    assert done["inputSet"][0] == {
        "borrower_name": "Budi",
        "monthly_income": 12000000,
        "loan_amount": 50000000,
    }
    result = store.get_result(row["id"], "input-1")
    assert result.messages[0].role == "system" and "credit analyst" in result.messages[0].text
    assert "kind:borrower_summary" in result.tags
    listed = (await api.get("/api/evals")).json()
    assert listed[0]["id"] == row["id"] and listed[0]["passedCases"] == 3
    # Leaving out a figure the kind needs is a 422 naming the input and the key.
    short = {"name": "n", "inputSet": [{"_kind": "borrower_summary", "borrower_name": "Budi"}]}
    answer = await api.post("/api/evals", json=short)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("inputSet[0]: generation kind 'borrower_summary'")
    assert "'monthly_income', 'loan_amount'" in answer.json()["detail"]


async def test_a_tier_change_changes_the_next_runs_model(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"standard": "mock:echo"}))
    first = (await api.post("/api/evals", json=SEED_BODY)).json()
    constant = {"provider": "mock", "name": "constant", "params": {"text": "fixed"}}
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"standard": constant}))
    second = (await api.post("/api/evals", json=SEED_BODY)).json()
    await evalbook.aresume(second["id"], store=store)
    assert first["model"] == "mock:echo" and second["model"] == "mock:constant"
    assert store.get_run(second["id"]).tier == "standard"
    outputs = [r.output for r in store.iter_results(second["id"])]
    assert outputs == ["fixed", "fixed"]
    tiers = (await api.get("/api/tiers")).json()
    assert {"name": "standard", "model": "mock:constant"} in tiers
    assert {t["name"] for t in tiers} == {"standard", "fast", "premium"}


async def test_bad_kinds_and_tiers_are_clear_422s(
    api: httpx.AsyncClient, tiers: dict[str, object]
) -> None:
    typo = {"name": "n", "inputSet": [{"_kind": "summarize", "text": "a"}, {"_kind": "sumarize"}]}
    answer = await api.post("/api/evals", json=typo)
    detail = answer.json()["detail"]
    assert answer.status_code == 422 and detail.startswith("inputSet[1]._kind")
    assert "Did you mean 'summarize'" in detail and "extract_json" in detail
    missing = {"name": "n", "inputSet": [{"_kind": "classify", "text": "a"}]}
    answer = await api.post("/api/evals", json=missing)
    assert answer.status_code == 422 and "'labels'" in answer.json()["detail"]
    bad_tier = {**SEED_BODY, "model": "tier:premuim"}
    answer = await api.post("/api/evals", json=bad_tier)
    assert answer.status_code == 422
    assert "unknown model tier 'premuim'" in answer.json()["detail"]
    assert "Did you mean 'premium'" in answer.json()["detail"]
    browser = {**SEED_BODY, "model": "browser:/etc/site.yaml"}
    answer = await api.post("/api/evals", json=browser)
    assert answer.status_code == 422 and "tier" in answer.json()["detail"]


async def test_a_workspace_defines_and_versions_its_own_kinds(
    api: httpx.AsyncClient, store: Store, tiers: dict[str, object]
) -> None:
    kind = {
        "name": "borrower_summary",
        "system": "You are a credit analyst.",
        "messages": [{"role": "user", "content": "Summarise {{ borrower_name }}: {{ loan }}"}],
        "scorers": [{"contains": "{{ borrower_name }}"}],
        "tier": "fast",
        "inputs": ["borrower_name", "loan"],
    }
    created = await api.post("/api/kinds", json=kind)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["source"] == "workspace"
    again = await api.post("/api/kinds", json=kind)
    assert again.status_code == 200 and again.json()["version"] == 1
    changed = await api.post("/api/kinds", json={**kind, "system": "You are terse."})
    assert changed.status_code == 201 and changed.json()["version"] == 2
    names = [k["name"] for k in (await api.get("/api/kinds")).json()]
    assert names[0] == "borrower_summary" and "summarize" in names
    one = (await api.get("/api/kinds/borrower_summary")).json()
    assert one["version"] == 2 and one["messages"][0] == {
        "role": "system",
        "content": "You are terse.",
    }
    builtin = (await api.get("/api/kinds/summarize")).json()
    assert builtin["source"] == "builtin" and builtin["tier"] == "standard"
    unknown = await api.get("/api/kinds/sumarize")
    assert unknown.status_code == 404 and "Did you mean 'summarize'" in unknown.text
    refused = await api.post("/api/kinds", json={**kind, "scorers": [{"python": "os:getcwd"}]})
    assert refused.status_code == 422

    body = {"name": "b", "inputSet": [{"_kind": "borrower_summary", "borrower_name": "Budi",
                                       "loan": 50000000}]}  # fmt: skip
    row = (await api.post("/api/evals", json=body)).json()
    assert row["tier"] == "fast"
    await evalbook.aresume(row["id"], store=store)
    result = store.get_result(row["id"], "input-1")
    assert result.messages[0].text == "You are terse." and result.passed
    assert result.output == "Summarise Budi: 50000000"


async def test_a_plugin_kind_registers_like_a_provider_and_runs_on_its_tier(
    api: httpx.AsyncClient, store: Store, tiers: dict[str, object]
) -> None:
    """The registry of kinds is the providers' and scorers' primitive: a plugin (an entry
    point of ``evalbook.kinds``, or ``KINDS.register`` at import) is a kind like the
    built-ins, listed, named in ``_kind``, run on the tier it names."""
    shout = GenerationKind(
        name="shout",
        messages=[KindMessage(role="user", content="{{ word | upper }}!")],
        scorers=["non-empty"],
        tier="fast",
        inputs=["word"],
    )
    KINDS.register("shout", shout)
    try:
        listed = {k["name"]: k for k in (await api.get("/api/kinds")).json()}
        assert listed["shout"]["tier"] == "fast" and listed["shout"]["inputs"] == ["word"]
        body = {"name": "plugin", "inputSet": [{"_kind": "shout", "word": "hey"}]}
        row = (await api.post("/api/evals", json=body)).json()
        assert row["tier"] == "fast" and row["model"] == "mock:echo"
        await evalbook.aresume(row["id"], store=store)
        assert store.get_result(row["id"], "input-1").output == "HEY!"
    finally:
        KINDS.unregister("shout")
    gone = await api.post("/api/evals", json=body)
    assert gone.status_code == 422 and "unknown generation kind 'shout'" in gone.text


async def test_post_api_runs_takes_a_tier_as_its_model(
    api: httpx.AsyncClient, store: Store, tiers: dict[str, object]
) -> None:
    suite = {
        "id": "tiered",
        "prompt": "Say {{ w }}",
        "scorers": ["non-empty"],
        "cases": [{"id": "c1", "vars": {"w": "hi"}}],
    }
    assert (await api.post("/api/suites", json=suite)).status_code == 201
    created = await api.post("/api/runs", json={"suite_id": "tiered", "model": "tier:fast"})
    assert created.status_code == 202, created.text
    run = created.json()
    assert run["tier"] == "fast" and run["model"]["provider"] == "mock"
    await evalbook.aresume(run["id"], store=store)
    assert store.get_result(run["id"], "c1").output == "Say hi"
    estimate = await api.post(
        "/api/runs/estimate", json={"suite_id": "tiered", "model": "tier:fast"}
    )
    assert estimate.status_code == 200, estimate.text
    bad = await api.post("/api/runs", json={"suite_id": "tiered", "model": "tier:fsat"})
    assert bad.status_code == 422 and "Did you mean 'fast'" in bad.json()["detail"]
