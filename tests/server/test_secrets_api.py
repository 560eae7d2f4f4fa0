"""Provider secrets come only from the server's environment: never accepted in a request,
never sent to an address a request chose, never in an answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from evalbook.server.schemas.policy import secret_fields
from evalbook.storage.store import Store
from tests.server.resources import finished_run, post_suite, suite_data

SECRET = "sk-test-secret-4b1d"


@pytest.mark.parametrize(
    "model",
    [
        {"provider": "openai", "name": "gpt-4o", "api_key": SECRET},
        {"provider": "openai", "name": "gpt-4o", "params": {"api_key": SECRET}},
        {"provider": "openai", "name": "gpt-4o", "params": {"headers": {"Authorization": "x"}}},
        {"provider": "openai", "name": "gpt-4o", "params": {"client_secret": "x"}},
        {"provider": "openai", "name": "gpt-4o", "api_key_env": SECRET},
        {"provider": "openai", "name": "gpt-4o", "api_key_env": "HOME"},
        {"provider": "openai", "name": "gpt-4o", "base_url": "http://attacker.example/v1"},
        {"provider": "anthropic", "name": "claude", "base_url": "http://attacker.example"},
        {"provider": "huggingface", "name": "gpt2", "base_url": "http://attacker.example"},
        {"provider": "openai-compatible", "name": "m", "base_url": "http://attacker.example/v1",
         "api_key_env": "OPENAI_API_KEY"},
        "openai:gpt-4o@http://attacker.example/v1",
        {"provider": "python", "name": "os:getcwd"},
    ],
)  # fmt: skip
async def test_key_values_and_key_exfiltration_are_refused(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch, model: Any
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    assert (await post_suite(api, suite_data())).status_code == 201
    answer = await api.post("/api/runs", json={"suite_id": "qa", "model": model})
    assert answer.status_code == 422, answer.text
    assert SECRET not in answer.text
    seeded = {"suiteId": "qa", "versionNo": 1, "modelConfig": {"model": "gpt-4o"}}
    if isinstance(model, dict) and "api_key" in model:
        seeded["modelConfig"]["apiKey"] = SECRET
        assert (await api.post("/api/prompts/qa-prompt/eval/run", json=seeded)).status_code == 422


@pytest.mark.parametrize(
    ("model", "offered", "why"),
    [
        ({"provider": "openai", "name": "gpt-4o", "api_key_env": "EVALBOOK_SECRET_KEY"},
         "EVALBOOK_SECRET_KEY", "evalbook's own"),
        ({"provider": "openai", "name": "gpt-4o", "api_key_env": "AWS_SECRET_ACCESS_KEY"},
         "OPENAI_API_KEY", "does not offer the key AWS_SECRET_ACCESS_KEY"),
        ("openai:gpt-4o", "", "does not offer the key OPENAI_API_KEY"),
        ("anthropic:claude", "OPENAI_API_KEY", "does not offer the key ANTHROPIC_API_KEY"),
        ({"provider": "vllm", "name": "m", "api_key_env": "AWS_SECRET_ACCESS_KEY"},
         "OPENAI_API_KEY", "does not offer the key AWS_SECRET_ACCESS_KEY"),
        ("huggingface:gpt2", "OPENAI_API_KEY", "does not offer the key HF_TOKEN"),
        # HF_TOKEN unset here: the provider would read HF_API_TOKEN, which is not offered.
        ("huggingface:gpt2", "HF_TOKEN", "does not offer the key HF_API_TOKEN"),
    ],
)  # fmt: skip
async def test_only_the_secrets_the_operator_offers_can_be_named(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, model: Any, offered: str, why: str
) -> None:
    """A key holder cannot make the server use (and send) any variable of its environment:
    not evalbook's own, not an unrelated one, not a provider's default one unless offered."""
    for name in ("EVALBOOK_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    if offered == "HF_TOKEN":
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("HF_API_TOKEN", SECRET)
    else:
        monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("EVALBOOK_PROVIDER_SECRETS", offered)
    assert (await post_suite(api, suite_data())).status_code == 201
    answer = await api.post("/api/runs", json={"suite_id": "qa", "model": model})
    assert answer.status_code == 422, answer.text
    assert why in answer.text and SECRET not in answer.text
    judged = suite_data("judged", scorers=[{"llm-judge": "polite?", "judge": model}])
    answer = await post_suite(api, judged)
    assert answer.status_code == 422 and why in answer.text, answer.text


def test_offered_secrets_are_checked() -> None:
    from evalbook.errors import ConfigError
    from evalbook.server.schemas.policy import offer_secrets

    with pytest.raises(ConfigError, match="evalbook's own"):
        offer_secrets(["EVALBOOK_SECRET_KEY"])
    with pytest.raises(ConfigError, match="must name a key variable"):
        offer_secrets(["HOME"])


def test_secret_field_names() -> None:
    data = {"max_tokens": 1, "stop": ["x"], "api_key_env": "A_KEY", "top_p": 1, "n": {"ok": 1}}
    assert list(secret_fields(data)) == []
    found = secret_fields(
        {"a": {"apiKey": 1}, "password": 2, "access_token": 3, "x": [{"token": 4}]}
    )
    assert sorted(found) == ["a.apiKey", "access_token", "password", "x[0].token"]


async def test_no_answer_ever_holds_an_environment_value(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("TEAM_TEST_TOKEN", SECRET)
    monkeypatch.setenv("EVALBOOK_PROVIDER_SECRETS", "OPENAI_API_KEY,TEAM_TEST_TOKEN")
    assert (await post_suite(api, suite_data())).status_code == 201
    done = await finished_run(store)
    keyed = {"provider": "openai", "name": "gpt-4o", "api_key_env": "TEAM_TEST_TOKEN"}
    created = await api.post("/api/runs", json={"suite_id": "qa", "model": keyed})
    assert created.status_code == 202, created.text
    pending = created.json()["id"]
    assert created.json()["model"]["api_key_env"] == "TEAM_TEST_TOKEN"  # the name only
    seeded = await api.post(
        "/api/prompts/qa-prompt/eval/run",
        json={"suiteId": "qa", "versionNo": 1, "modelConfig": {"model": "gpt-4o"}},
    )
    evals = await api.post("/api/evals", json={"name": "e", "inputSet": [{"prompt": "p"}],
                                               "model": "openai:gpt-4o"})  # fmt: skip
    answers = [created, seeded, evals]
    for path in (
        "/api/runs", f"/api/runs/{pending}", f"/api/runs/{done.id}/results",
        f"/api/runs/{done.id}/metrics", f"/api/runs/{done.id}/export",
        f"/api/runs/{done.id}/export?format=csv", f"/api/runs/{done.id}/feedback",
        "/api/suites", "/api/suites/qa/versions/1", "/api/prompts", "/api/evals",
        f"/api/evals/{pending}", "/api/graph/nodes?limit=200", "/api/graph/edges",
        "/openapi.json", "/api/whoami", "/api/health",
        f"/api/compare?baseline={done.id}&candidate={pending}",
    ):  # fmt: skip
        answers.append(await api.get(path))
    answers.append(await api.post(f"/api/runs/{pending}/cancel"))
    assert all(a.status_code < 500 for a in answers)
    for answer in answers:
        assert SECRET not in answer.text, answer.request.url
        assert SECRET not in str(answer.headers)
