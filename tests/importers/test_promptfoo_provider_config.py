"""promptfoo provider ``config`` keys: the API's request parameters are sent, promptfoo's
own options are mapped or reported at their line, unknown keys are never sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalbook.importers import ImportOptions, import_file
from evalbook.importers.promptfoo._providers import map_provider
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .helpers import run_json, statuses

CONFIG = """\
prompts: ['Say {{word}}']
providers:
  - id: openai:chat:gpt-4o-mini
    config:
      temperature: 0.3
      top_p: 0.9
      frequency_penalty: 0.5
      response_format: {type: json_object}
      apiKey: sk-written-in-the-file
      headers: {X-Team: evals}
      organization: org-123
      max_retries: 5
      stream: true
      topP: 0.2
      passthrough: {reasoning_effort: low}
      cost: 0.000002
tests:
  - vars: {word: hi}
    assert: [{type: contains, value: hi}]
"""


def _notes(path: Path) -> dict[str, tuple[int | None, bool, str]]:
    report = import_file("promptfoo", path).report
    return {
        n.feature.split(": ", 1)[1]: (n.line, n.mapped, n.message)
        for n in report.notes
        if n.feature.startswith("provider ")
    }


def test_request_parameters_are_sent_and_the_rest_reported(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(CONFIG)
    model = import_file("promptfoo", path).data["model"]
    assert model == {
        "provider": "openai",
        "name": "gpt-4o-mini",
        "temperature": 0.3,
        "params": {
            "top_p": 0.9,
            "frequency_penalty": 0.5,
            "response_format": {"type": "json_object"},
            "reasoning_effort": "low",
        },
        "price": {"input_per_mtok": 2.0, "output_per_mtok": 2.0},
    }
    notes = _notes(path)
    assert notes["config.apiKey"][:2] == (9, False)
    assert notes["config.headers"][:2] == (10, False)
    assert notes["config.organization"][:2] == (11, False)
    assert "retries" in notes["config.max_retries"][2]
    # a misspelt parameter is not sent (the endpoint would refuse or ignore it)
    line, mapped, message = notes["config.topP"]
    assert (line, mapped) == (14, False) and "not sent" in message and "OpenAI's" in message
    assert notes["config.passthrough"][:2] == (15, True)
    assert notes["config.cost"][:2] == (16, True)
    assert "config.stream" not in notes  # evalbook does not stream: nothing changes


@pytest.mark.parametrize(
    ("raw", "model"),
    [
        (
            {
                "id": "anthropic:messages:claude-x",
                "config": {"top_k": 5, "stop_sequences": ["END"], "frequency_penalty": 1},
            },
            {"provider": "anthropic", "name": "claude-x", "stop": ["END"], "params": {"top_k": 5}},
        ),
        (
            {
                "id": "ollama:chat:llama3",
                "config": {"num_predict": 64, "passthrough": {"format": "json", "keep_alive": 1}},
            },
            {
                "provider": "ollama",
                "name": "llama3",
                "max_tokens": 64,
                "params": {"response_format": {"type": "json_object"}},
            },
        ),
        (
            {"id": "groq:llama-3.1-8b", "config": {"apiKey": "{{ env.MY_GROQ }}", "min_p": 0.1}},
            {
                "provider": "openai-compatible",
                "name": "llama-3.1-8b",
                "base_url": "https://api.groq.com/openai/v1",
                "api_key_env": "MY_GROQ",
                "params": {"min_p": 0.1},
            },
        ),
        (
            {"id": "openai:gpt-4o", "config": {"inputCost": 0.000001, "outputCost": 0.000004}},
            {
                "provider": "openai",
                "name": "gpt-4o",
                "price": {"input_per_mtok": 1.0, "output_per_mtok": 4.0},
            },
        ),
    ],
)
def test_each_api_gets_its_own_parameters(raw: dict[str, object], model: dict[str, object]) -> None:
    mapped = map_provider(raw, ImportOptions())
    assert mapped.model == model
    dropped = {key for key, _why, ok in mapped.config_notes if not ok}
    if raw["id"] == "anthropic:messages:claude-x":
        assert dropped == {"frequency_penalty"}  # not an Anthropic parameter
    if raw["id"] == "ollama:chat:llama3":
        assert dropped == {"passthrough.keep_alive"}  # an /api/chat option


def test_what_reaches_the_endpoint(tmp_path: Path) -> None:
    with run_test_server_in_thread(TestServerConfig(record_bodies=True)) as server:
        path = tmp_path / "promptfooconfig.yaml"
        text = CONFIG.replace("      temperature: 0.3\n", f"      apiBaseUrl: {server.base_url}\n")
        path.write_text(text.replace("      cost: 0.000002\n", ""))
        record = run_json(str(path), "--no-cache")
        assert statuses(record["id"]) == {"test-1": "passed"}
        (body,) = server.bodies
    sent = json.loads(body)
    assert {k: sent[k] for k in ("top_p", "frequency_penalty", "reasoning_effort")} == {
        "top_p": 0.9,
        "frequency_penalty": 0.5,
        "reasoning_effort": "low",
    }
    for key in ("topP", "headers", "organization", "apiKey", "max_retries", "passthrough"):
        assert key not in sent
