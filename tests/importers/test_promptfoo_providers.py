"""promptfoo ``providers`` become the suite's labelled ``models:``: running the config runs
every provider × prompt as one experiment, for real over HTTP to the local test server
(each provider pointed at it with ``apiBaseUrl`` on loopback). A provider whose key is not
set stops the run before anything is recorded, unless ``--model`` leaves it out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalbook.importers import import_file
from evalbook.storage.store import Store
from evalbook.suites import load_suite
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .helpers import evalbook

CONFIG = """\
description: Providers as a matrix
prompts:
  - "[[answer={{{{answer}}}}]] Q: {{{{q}}}}"
  - "[[answer={{{{answer}}}}]] Question: {{{{q}}}}"
providers:
  - id: openai:chat:model-a
    label: fast
    config:
      apiBaseUrl: {url}
      temperature: 0.2
      max_tokens: 32
  - id: openai:model-b
    config:
      apiBaseUrl: {url}
      seed: 7
  - echo
  - id: anthropic:messages:claude-test
    label: claude
    config:
      apiBaseUrl: {root}
      max_tokens: 64
  - id: exec:python call_model.py
  - id: webhook:http://127.0.0.1:9/hook
tests:
  - vars: {{q: capital of France, answer: Paris}}
    assert: [{{type: equals, value: Paris}}]
  - vars: {{q: two plus two, answer: "4"}}
    assert: [{{type: contains, value: "4"}}]
"""
CLAUDE_LINE = 17  # the line of `- id: anthropic:messages:claude-test` above


@pytest.fixture(scope="module")
def recording() -> Iterator[Any]:
    with run_test_server_in_thread(TestServerConfig(record_bodies=True)) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, recording: Any) -> Path:
    recording.reset()
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(CONFIG.format(url=recording.base_url, root=recording.root_url))
    assert "claude-test" in path.read_text().splitlines()[CLAUDE_LINE - 1]
    return path


def _run_ids() -> list[str]:
    store = Store.open()
    try:
        return [r.id for r in store.list_runs()]
    finally:
        store.close()


def _bodies(server: Any) -> list[dict[str, Any]]:
    return [json.loads(b) for b in server.bodies]


def test_providers_map_to_labelled_models_and_unmapped_ones_are_reported(config: Path) -> None:
    imported = import_file("promptfoo", config)
    models = imported.data["models"]
    assert [m["label"] for m in models] == ["fast", "openai:model-b", "echo", "claude"]
    assert models[0] == {
        "label": "fast",
        "provider": "openai-compatible",
        "name": "model-a",
        "base_url": imported.data["models"][0]["base_url"],
        "temperature": 0.2,
        "max_tokens": 32,
    }
    assert models[0]["base_url"].startswith("http://127.0.0.1:")
    assert models[1]["seed"] == 7 and models[1]["provider"] == "openai-compatible"
    assert models[2] == {"label": "echo", "provider": "mock", "name": "echo"}
    assert models[3]["provider"] == "anthropic" and models[3]["max_tokens"] == 64
    assert "model" not in imported.data  # the loader takes the first of models: as default
    assert imported.data["prompt_versions"] == [1, 2]
    unmapped = {(n.feature, n.line) for n in imported.report.unmapped}
    assert unmapped == {
        ("provider exec:python call_model.py", 22),
        ("provider webhook:http://127.0.0.1:9/hook", 23),
    }
    assert imported.report.summary() == "2 of 2 assertions mapped; 2 other constructs not mapped"
    suite = imported.load()
    assert [m.label for m in suite.models] == ["fast", "openai:model-b", "echo", "claude"]
    assert suite.models[3].origin == f"{config}:{CLAUDE_LINE}, promptfoo provider " + (
        "anthropic:messages:claude-test"
    )


def test_a_missing_key_stops_the_matrix_before_anything_runs(
    config: Path, recording: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    before = _run_ids()
    proc = evalbook("run", str(config), "--json", check=1)
    assert "model 'claude'" in proc.stderr
    assert f"{config}:{CLAUDE_LINE}" in proc.stderr
    assert "anthropic:messages:claude-test" in proc.stderr
    assert "ANTHROPIC_API_KEY" in proc.stderr and "--model LABEL" in proc.stderr
    assert "nothing was run" in proc.stderr
    assert _run_ids() == before  # not one run recorded, not one request sent
    assert recording.stats()["requests"] == 0


def test_model_flags_run_only_the_chosen_providers(
    config: Path, recording: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    proc = evalbook("run", str(config), "--model", "fast", "--model", "echo", "--json", check=100)
    out = json.loads(proc.stdout)
    assert [r["label"] for r in out["runs"]] == ["fast · v1", "fast · v2", "echo · v1", "echo · v2"]
    rates = [r["metrics"]["pass_rate"] for r in out["runs"]]
    # the server answers the [[answer=…]] directive; echo answers with the prompt itself,
    # which contains "4" but does not equal "Paris"
    assert rates == [1.0, 1.0, 0.5, 0.5]
    bodies = _bodies(recording)
    assert len(bodies) == 4 and {b["model"] for b in bodies} == {"model-a"}
    assert all(b["temperature"] == 0.2 and b["max_tokens"] == 32 for b in bodies)
    proc = evalbook("run", str(config), "--model", "nobody", check=1)
    assert "'nobody'" in proc.stderr and "'fast'" in proc.stderr


def test_every_provider_times_every_prompt_with_the_key_set(
    config: Path, recording: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    proc = evalbook("run", str(config), "--json", check=100)
    out = json.loads(proc.stdout)
    runs = out["runs"]
    assert len(runs) == 8 and {r["experiment_id"] for r in runs} == {out["experiment_id"]}
    by_label = {r["label"]: r for r in runs}
    assert by_label["claude · v2"]["model"]["provider"] == "anthropic"
    assert by_label["openai:model-b · v1"]["model"]["seed"] == 7
    assert [r["metrics"]["pass_rate"] for r in runs] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0]
    bodies = _bodies(recording)
    assert len(bodies) == 12  # 3 HTTP providers × 2 prompts × 2 tests; echo sends nothing
    claude = [b for b in bodies if b["model"] == "claude-test"]
    assert len(claude) == 4 and all(b["max_tokens"] == 64 for b in claude)
    assert all(b["seed"] == 7 for b in bodies if b["model"] == "model-b")


def test_the_written_suite_keeps_the_matrix(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "suite.yaml"
    proc = evalbook("import", "promptfoo", str(config), "-o", str(out))
    assert f"{config}:22: provider exec:python call_model.py: not mapped" in proc.stderr
    text = out.read_text()
    assert "# Models (each runs; choose some with --model LABEL):" in text
    assert "#   claude: anthropic:claude-test@" in text
    written = load_suite(out)
    assert [m.label for m in written.models] == ["fast", "openai:model-b", "echo", "claude"]
    assert written.prompt_versions == [1, 2]
    assert written.models[3].origin is not None
    assert written.models[3].origin.startswith(f"{out}:")
    assert written.model is not None and written.model.name == "model-a"  # the first


@pytest.mark.parametrize(
    ("pid", "why"),
    [
        ("anthropic:claude-agent-sdk", "Claude Agent SDK"),
        ("openai:assistant:asst_abc123", "Assistants thread"),
        ("openai:embedding:text-embedding-3-small", "embedding model"),
        ("openai:realtime:gpt-4o-realtime-preview", "Realtime API"),
    ],
)
def test_providers_that_are_no_chat_model_are_reported_not_sent_as_one(
    tmp_path: Path, pid: str, why: str
) -> None:
    # these ids parse as family:name, but calling that "model" would send a request no
    # endpoint answers (or another kind of request than the source makes)
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(f"prompts: [hi]\nproviders: [echo, '{pid}']\ntests:\n  - vars: {{}}\n")
    imported = import_file("promptfoo", path)
    assert [m["provider"] for m in imported.data.get("models", [imported.data["model"]])] == [
        "mock"
    ]
    (note,) = imported.report.unmapped
    assert (note.feature, note.line) == (f"provider {pid}", 2)
    assert why in note.message
