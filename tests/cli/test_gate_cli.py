"""``evalbook gate`` and ``evalbook run --gate-against``: seed 000's story through the real
command (a subprocess, real exit codes), and the CI outputs it writes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalbook.cli.app import main
from evalbook.storage.store import Store

from ..analysis.seed import seed_runs
from .test_cli import evalbook_cmd


async def test_seed_story_gate_holds_then_passes(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(db_url)
    try:
        runs = await seed_runs(store, (4, 5, 6))
    finally:
        store.close()
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit, verdict = tmp_path / "gate.xml", tmp_path / "verdict.json"
    rule = ("--metric", "faithfulness:max-drop=0.05", "--alpha", "0.05")
    held = evalbook_cmd(
        "gate", "--candidate", runs[5].id, *rule, "--junit", str(junit),
        "--verdict", str(verdict), check=100,
    )  # fmt: skip
    assert "gate failed" in held.stdout and "faithfulness" in held.stdout.split("gate failed")[1]
    assert "❌ evalbook gate failed" in summary.read_text()
    assert json.loads(verdict.read_text())["failing_metrics"] == ["faithfulness"]
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert suites[0][0].get("name") == "faithfulness max-drop 0.05"
    assert suites[0][0].find("failure") is not None
    assert suites[1].get("tests") == "40"  # a testcase per newly failing case

    fixed = evalbook_cmd(
        "gate", "--candidate", runs[6].id[:8], "--baseline", runs[4].id[:8], *rule, check=0
    )
    assert "gate passed" in fixed.stdout
    assert summary.read_text().count("## ") == 2  # appended, not overwritten


def _suite_file(path: Path, base_url: str) -> Path:
    data = {
        "id": "gated",
        "threshold": 0.1,
        "model": {"provider": "openai-compatible", "name": "test-model", "base_url": base_url},
        "prompt": {
            "name": "qa",
            "versions": {
                1: {"template": "[[answer={{ answer }}]] q{{ i }}"},
                2: {"template": "[[answer=no]] q{{ i }}"},  # a prompt that breaks half the cases
            },
        },
        "scorers": [{"equals": "yes"}],
        "cases": [{"id": f"c{i}", "vars": {"i": i, "answer": "yes" if i % 2 == 0 else "no"}}
                  for i in range(8)],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.slow
def test_run_gate_against(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'gate.db'}")
    suite = _suite_file(tmp_path / "suite.yaml", server.base_url)
    evalbook_cmd("run", str(suite), "--prompt-version", "1", check=0)
    out = evalbook_cmd(
        "run", str(suite), "--prompt-version", "2", "--gate-against", "latest",
        "--max-new-failures", "0", "--json", check=100,
    )  # fmt: skip
    assert json.loads(out.stdout)["prompt_version"] == 2  # stdout stays the run record
    assert "max-new-failures 0" in out.stderr and "gate failed" in out.stderr
    same = evalbook_cmd(
        "run", str(suite), "--prompt-version", "1", "--gate-against", "latest", "--max-drop", "0",
        check=0,
    )  # fmt: skip
    assert "gate passed" in same.stdout
    requests = server.requests
    with pytest.raises(SystemExit) as exc:  # a bad rule fails before any model call
        main(["run", str(suite), "--gate-against", "latest", "--metric", "x"])
    assert exc.value.code == 1 and server.requests == requests
