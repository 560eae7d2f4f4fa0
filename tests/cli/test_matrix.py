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
