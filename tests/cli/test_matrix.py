"""``evalbook run SUITE --model A --model B --prompt-version 1 --prompt-version 2``: every
combination its own run, one experiment, one comparison table, nothing asked twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from evalbook.storage.store import Store

from ..importers.helpers import evalbook

N = 200


def _suite(path: Path) -> Path:
    same = "[[answer={{ answer }}]] q{{ i }}"
    data = {
        "id": "matrix-suite",
        "threshold": 0.5,
        "prompt": {"name": "mx", "versions": {1: same, 2: same, 3: "Q{{ i }} [[answer=no]]"}},
        "scorers": [{"equals": "yes"}],
        "cases": [
            {"id": f"c{i}", "vars": {"i": i, "answer": "yes" if i % 4 else "no"}} for i in range(N)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_two_models_by_two_prompt_versions(tmp_path: Path, server: Any) -> None:
    suite = _suite(tmp_path / "suite.yaml")
    a = f"openai-compatible:model-a@{server.base_url}"
    b = f"openai-compatible:model-b@{server.base_url}"
    proc = evalbook(
        "run", str(suite), "--model", a, "--model", b, "--prompt-version", "1",
        "--prompt-version", "2", "--json", "--concurrency", "16", check=0,
    )  # fmt: skip
    out = json.loads(proc.stdout)
    runs = out["runs"]
    assert [r["label"] for r in runs] == [
        "openai-compatible:model-a · v1",
        "openai-compatible:model-a · v2",
        "openai-compatible:model-b · v1",
        "openai-compatible:model-b · v2",
    ]
    assert {r["experiment_id"] for r in runs} == {out["experiment_id"]}
    assert out["baseline"] == runs[0]["id"]
    assert all(r["counts"]["total"] == N and r["status"] == "completed" for r in runs)
    assert all(r["metrics"]["pass_rate"] == 0.75 for r in runs)
    # versions 1 and 2 send the same text: the second is answered from the cache
    assert server.stats()["requests"] == 2 * N
    assert [r["counts"]["cached"] for r in runs] == [0, N, 0, N]
    comparisons = out["comparisons"]
    assert len(comparisons) == 3
    assert all(c["paired"] == N for c in comparisons)
    assert all(c["baseline"]["id"] == runs[0]["id"] for c in comparisons)
    store = Store.open()
    try:
        grouped = [r for r in store.list_runs() if r.experiment_id == out["experiment_id"]]
    finally:
        store.close()
    assert len(grouped) == 4


def test_the_table_and_a_chosen_baseline(tmp_path: Path, server: Any) -> None:
    suite = _suite(tmp_path / "suite.yaml")
    model = f"openai-compatible:model-a@{server.base_url}"
    proc = evalbook(
        "run", str(suite), "--model", model, "--prompt-version", "1", "--prompt-version", "3",
        "--baseline", "2", check=100,
    )  # fmt: skip
    # version 3 answers "no" everywhere: it fails its threshold, and the exit code says so
    assert "experiment matrix-" in proc.stdout
    assert "openai-compatible:model-a · v3 (baseline)" in proc.stdout
    assert "+0.750" in proc.stdout  # v1 against the baseline v3: 0.25 → 1.0 on the scored
    proc = evalbook("run", str(suite), "--model", model, "--model", model, check=1)
    assert "repeats a combination" in proc.stderr


def _listed(path: Path, server: Any, **extra: Any) -> Path:
    """A suite that lists its own matrix: two labelled models, two prompt versions."""
    data = {
        "id": "listed-matrix",
        "prompt": {"name": "lm",
                   "versions": {1: "[[answer=yes]] {{ q }}", 2: "[[answer=no]] {{ q }}"}},
        "models": [
            {"label": "small", "spec": f"openai-compatible:small@{server.base_url}"},
            {"label": "big", "model": {"provider": "openai-compatible", "name": "big",
                                       "base_url": server.base_url, "temperature": 0.5}},
        ],
        "prompt_versions": [1, 2],
        "scorers": [{"equals": "yes"}],
        "cases": [{"id": f"c{i}", "vars": {"q": f"question {i}"}} for i in range(6)],
        **extra,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_suite_lists_its_models_and_prompt_versions(tmp_path: Path, server: Any) -> None:
    suite = _listed(tmp_path / "suite.yaml", server)
    proc = evalbook("run", str(suite), "--json", check=100)  # version 2 answers "no"
    out = json.loads(proc.stdout)
    runs = out["runs"]
    assert [r["label"] for r in runs] == ["small · v1", "small · v2", "big · v1", "big · v2"]
    assert [r["model"]["name"] for r in runs] == ["small", "small", "big", "big"]
    assert runs[2]["model"]["temperature"] == 0.5
    assert [r["prompt_version"] for r in runs] == [1, 2, 1, 2]
    assert [r["metrics"]["pass_rate"] for r in runs] == [1.0, 0.0, 1.0, 0.0]
    assert {r["experiment_id"] for r in runs} == {out["experiment_id"]}
    assert server.stats()["requests"] == 4 * 6


def test_flags_override_the_suites_matrix(tmp_path: Path, server: Any) -> None:
    suite = _listed(tmp_path / "suite.yaml", server)
    other = f"openai-compatible:other@{server.base_url}"
    # --model replaces the models: list; the suite's prompt_versions still apply
    out = json.loads(evalbook("run", str(suite), "--model", other, "--json", check=100).stdout)
    assert [r["label"] for r in out["runs"]] == [
        "openai-compatible:other · v1",
        "openai-compatible:other · v2",
    ]
    # --prompt-version replaces prompt_versions: one model left → one labelled run
    proc = evalbook("run", str(suite), "--model", other, "--prompt-version", "1", "--json", check=0)
    record = json.loads(proc.stdout)
    assert record["model"]["name"] == "other" and record["prompt_version"] == 1
    assert "experiment_id" not in record or record["experiment_id"] is None
    # a matrix cannot be submitted or gated as one run: the error says how to pick one
    proc = evalbook("run", str(suite), "--gate-against", "latest", check=1)
    assert "runs 4 combinations" in proc.stderr and "--model/--prompt-version" in proc.stderr


def test_a_one_model_list_is_a_single_labelled_run(tmp_path: Path, server: Any) -> None:
    suite = _listed(
        tmp_path / "suite.yaml",
        server,
        models=[{"label": "only", "spec": f"openai-compatible:only@{server.base_url}"}],
        prompt_versions=[1],
    )
    record = json.loads(evalbook("run", str(suite), "--json", check=0).stdout)
    assert record["label"] == "only"
    assert record["model"]["name"] == "only"
    assert record["prompt_version"] == 1
