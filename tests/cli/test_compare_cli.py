"""``evalbook compare``, ``trend``, ``noise`` and ``report``, run in-process on SQLite (the
subprocess path and both databases are covered by test_gate_cli and the library tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalbook.cli.app import main
from evalbook.core.run import RunRecord
from evalbook.storage.store import Store

from ..analysis.seed import seed_runs


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
async def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[int, RunRecord]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    store = Store.open(url)
    try:
        return await seed_runs(store, (4, 5, 6), n=12, alias="prod")
    finally:
        store.close()


def test_compare(capsys: pytest.CaptureFixture[str], runs: dict[int, RunRecord]) -> None:
    a, b, c = (runs[v].id for v in (4, 5, 6))
    code, out, _ = cli(capsys, "compare", a[:8], b[:8], "--json")
    [comparison] = json.loads(out)
    assert code == 0 and comparison["baseline"]["id"] == a and comparison["paired"] == 12
    faith = next(m for m in comparison["metrics"] if m["key"] == "faithfulness")
    assert faith["difference"] == pytest.approx(-0.13) and faith["test"] == "wilcoxon"

    code, out, _ = cli(capsys, "compare", a, b, c, "--sort", "case", "-n", "2")
    assert code == 0
    for text in ("candidate 1", "candidate 2", "faithfulness", "newly failing", "doc-000"):
        assert text in out
    assert "more (--limit)" in out

    code, out, _ = cli(capsys, "compare", a, b, "--case", "doc-001")
    assert code == 0 and "case doc-001" in out and "prompt" in out and "v5" in out

    code, out, _ = cli(capsys, "compare", "--by-alias", "--suite", "summaries", "--json")
    payload = json.loads(out)
    assert payload["aliases"][0]["alias"] == "prod" and payload["comparisons"] == []

    code, _, err = cli(capsys, "compare", a)
    assert code == 1 and "needs two runs" in err
    code, _, err = cli(capsys, "compare", a, "nope-nope")
    assert code == 1 and "no run 'nope-nope'" in err


def test_trend(capsys: pytest.CaptureFixture[str], runs: dict[int, RunRecord]) -> None:
    code, out, _ = cli(capsys, "trend", "summaries", "--metric", "faithfulness")
    assert code == 0 and "█" in out and "summarise v5" in out and "0.720" in out
    code, out, _ = cli(capsys, "trend", "summaries", "--alias", "prod", "--json")
    assert [p["value"] for p in json.loads(out)["points"]] == pytest.approx([0.81, 0.78, 0.84])
    code, _, err = cli(capsys, "trend", "summaries", "--metric", "nope")
    assert code == 1 and "known:" in err


def test_report(
    capsys: pytest.CaptureFixture[str], runs: dict[int, RunRecord], tmp_path: Path
) -> None:
    path = tmp_path / "r.html"
    code, out, _ = cli(capsys, "report", runs[5].id, "--compare", "latest", "-o", str(path))
    assert code == 0 and str(path) in out
    html = path.read_text()
    assert runs[4].id in html  # 'latest' before the candidate: the v4 run
    assert 'id="flips"' in html and "doc-000" in html


def test_noise_then_gate_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Any
) -> None:
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'noise.db'}")
    suite = tmp_path / "s.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "id": "aa",
                "model": {
                    "provider": "openai-compatible",
                    "name": "m",
                    "base_url": server.base_url,
                },
                "prompt": "[[answer={{ a }}]] q{{ i }}",
                "scorers": [{"equals": "yes"}],
                "cases": [{"vars": {"i": i, "a": "yes" if i % 3 else "no"}} for i in range(6)],
            }
        )
    )
    noise = tmp_path / "noise.json"
    code, out, _ = cli(capsys, "noise", str(suite), "--runs", "2", "-o", str(noise))
    assert code == 0 and "equals" in out
    estimate = json.loads(noise.read_text())
    assert len(estimate["runs"]) == 2 and estimate["metrics"]["score"]["sd"] == 0.0
    assert server.requests == 12  # the cache is off: each A/A run asks the model again
    code, out, _ = cli(capsys, "gate", "--suite", "aa", "--noise", str(noise), "--max-drop", "0")
    assert code == 0 and "gate passed" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _, err = cli(capsys, "gate", "--suite", "aa", "--noise", str(bad))
    assert code == 1 and "not a noise estimate" in err


async def test_compare_shows_each_runs_derived_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import evalbook
    from evalbook.suites import load_suite_from_dict

    url = f"sqlite:///{tmp_path / 'derived.db'}"
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")

    def suite(word: str) -> Any:
        return load_suite_from_dict(
            {
                "id": "derived",
                "name": "Derived",
                "prompt": "say {{ w }}",
                "model": "mock:echo",
                "scorers": [{"contains": word}],
                "cases": [
                    {"id": f"c{i}", "vars": {"w": "yes" if i < 3 else "no"}} for i in range(4)
                ],
                "derived_metrics": [{"name": "hit_rate", "expression": "contains / __count"}],
            }
        )

    store = Store.open(url)
    try:
        a = await evalbook.arun(suite("yes"), store=store)
        b = await evalbook.arun(suite("say"), store=store)
    finally:
        store.close()
    code, out, _ = cli(capsys, "compare", a.id, b.id, "--json")
    [comparison] = json.loads(out)
    assert comparison["baseline"]["derived"] == {"hit_rate": 0.75}
    assert comparison["candidate"]["derived"] == {"hit_rate": 1.0}
    code, out, _ = cli(capsys, "compare", a.id, b.id)
    assert code == 0
    row = next(line for line in out.splitlines() if "derived hit_rate" in line)
    assert row.replace("│", " ").split()[-2:] == ["0.75", "1"]
