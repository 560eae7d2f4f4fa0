"""promptfoo's ``huggingface:text-generation:MODEL`` imports as evalbook's ``huggingface``
provider and runs over real HTTP against the test server's text-generation route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalbook.importers import ImportOptions, import_file
from evalbook.importers.promptfoo._providers import map_provider
from evalbook.testing import OpenAICompatibleTestServer, TestServerConfig, run_test_server_in_thread

from .helpers import FIXTURES, run_json, statuses

CONFIG = FIXTURES / "promptfoo" / "huggingface" / "promptfooconfig.yaml"


def test_text_generation_maps_its_options_and_other_tasks_are_reported() -> None:
    imported = import_file("promptfoo", CONFIG)
    tiny, mini = imported.data["models"]
    assert tiny == {
        "label": "tiny",
        "provider": "huggingface",
        "name": "org/tiny-gpt",
        "temperature": 0.1,
        "max_tokens": 20,
        "params": {"top_k": 10, "do_sample": False, "wait_for_model": True},
    }  # the apiKey never enters the suite
    assert mini["provider"] == "openai"
    notes = {n.feature: (n.line, n.message) for n in imported.report.unmapped}
    assert len(notes) == 2
    line, message = notes["provider huggingface:text-classification:org/classifier"]
    assert line == 22 and "no evalbook equivalent" in message
    line, message = notes["provider huggingface:text-generation:org/tiny-gpt: config.apiKey"]
    assert line == 19 and "set HF_TOKEN" in message


@pytest.mark.parametrize(
    ("config", "want"),
    [
        # an Inference API URL: its base
        (
            {"apiEndpoint": "http://127.0.0.1:9/hf/models/org/m"},
            {"provider": "huggingface", "name": "org/m", "base_url": "http://127.0.0.1:9/hf"},
        ),
        # promptfoo calls the router's chat for these: so does the import
        (
            {"chatCompletion": True, "max_new_tokens": 5},
            {
                "provider": "openai-compatible",
                "name": "org/m",
                "base_url": "https://router.huggingface.co/v1",
                "api_key_env": "HF_TOKEN",
                "max_tokens": 5,
            },
        ),
        (
            {"apiEndpoint": "http://127.0.0.1:9/v1/chat/completions"},
            {
                "provider": "openai-compatible",
                "name": "org/m",
                "base_url": "http://127.0.0.1:9/v1",
                "api_key_env": "HF_TOKEN",
            },
        ),
    ],
)
def test_endpoints(config: dict[str, object], want: dict[str, object]) -> None:
    raw = {"id": "huggingface:text-generation:org/m", "config": config}
    assert map_provider(raw, ImportOptions()).model == want


def test_an_endpoint_of_another_shape_is_reported() -> None:
    raw = {"id": "huggingface:text-generation:org/m", "config": {"apiEndpoint": "http://x/y"}}
    mapped = map_provider(raw, ImportOptions())
    assert mapped.model is None and "BASE_URL/models/MODEL" in (mapped.reason or "")


def test_runs_against_the_test_server_with_base_url(
    server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    record = run_json(str(CONFIG), "--no-cache", "--base-url", server.base_url)
    runs = record.get("runs", [record])
    by_label = {r["label"]: statuses(r["id"]) for r in runs}
    # the answer directive makes both models say the var; "four" has no "4"
    expected = {"test-1": "passed", "test-2": "failed"}
    assert by_label == {"tiny · v1": expected, "mini · v1": expected}


def test_the_request_is_the_inference_apis(tmp_path: Path) -> None:
    with run_test_server_in_thread(TestServerConfig(record_bodies=True)) as server:
        path = tmp_path / "promptfooconfig.yaml"
        path.write_text(
            "prompts: ['Say {{word}}']\n"
            "providers:\n"
            "  - id: huggingface:text-generation:gpt2\n"
            f"    config: {{apiEndpoint: '{server.root_url}/models/gpt2', top_p: 0.9}}\n"
            "tests:\n  - vars: {word: hello}\n    assert: [{type: equals, value: Say hello}]\n"
        )
        record = run_json(str(path), "--no-cache")
        assert statuses(record["id"]) == {"test-1": "passed"}
        (body,) = server.bodies
    # evalbook's model defaults (temperature 0, 256 tokens) are sent as every model's
    assert json.loads(body) == {
        "inputs": "Say hello",
        "parameters": {
            "return_full_text": False,
            "temperature": 0.0,
            "max_new_tokens": 256,
            "top_p": 0.9,
        },
    }
