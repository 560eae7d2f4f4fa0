"""``evalbook run --model tier:NAME`` as a real subprocess: the tier resolves through the
settings read at each run (so a settings change moves the next run), the run records the
tier and the model it became, a suite's ``model: tier:NAME`` works too, and a misspelt
tier is a one-line error with "did you mean"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evalbook.storage.store import Store
from tests.cli.test_cli import evalbook_cmd

SUITE = {
    "id": "tiered",
    "prompt": "Say {{ word }}",
    "scorers": ["non-empty"],
    "cases": [{"id": "a", "vars": {"word": "hi"}}, {"id": "b", "vars": {"word": "yo"}}],
}


def _run(suite: Path, *args: str) -> dict[str, object]:
    out = evalbook_cmd("run", str(suite), "--no-cache", "--json", *args, check=0)
    record: dict[str, object] = json.loads(out.stdout)
    return record


def test_a_tier_as_the_model_and_a_settings_change_moves_the_next_run(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump(SUITE))
    settings = tmp_path / "tiers.yaml"
    settings.write_text("fast: mock:echo\n")
    monkeypatch.setenv("EVALBOOK_TIERS", str(settings))

    first = _run(suite, "--model", "tier:fast")
    assert first["tier"] == "fast" and first["model"]["name"] == "echo"  # type: ignore[index]
    assert [r.output for r in store.iter_results(str(first["id"]))] == ["Say hi", "Say yo"]

    settings.write_text("fast: {provider: mock, name: constant, params: {text: moved}}\n")
    second = _run(suite, "--model", "tier:fast")
    assert second["tier"] == "fast" and second["model"]["name"] == "constant"  # type: ignore[index]
    assert [r.output for r in store.iter_results(str(second["id"]))] == ["moved", "moved"]
    # The record says which tier and which model, for each run.
    assert store.get_run(str(first["id"])).tier == "fast"
    assert store.get_run(str(first["id"])).model["name"] == "echo"
    assert store.get_run(str(second["id"])).model["name"] == "constant"

    # A suite file may name the tier as its model.
    suite.write_text(yaml.safe_dump({**SUITE, "model": "tier:fast"}))
    third = _run(suite)
    assert third["tier"] == "fast" and third["model"]["name"] == "constant"  # type: ignore[index]


def test_a_misspelt_tier_is_a_clear_error(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVALBOOK_TIERS", raising=False)
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump(SUITE))
    out = evalbook_cmd("run", str(suite), "--model", "tier:premuim", check=1)
    assert "unknown model tier 'premuim'" in out.stderr
    assert "Did you mean 'premium'" in out.stderr and "standard" in out.stderr
    assert "Traceback" not in out.stderr
    suite.write_text(yaml.safe_dump({**SUITE, "model": "tier:fsat"}))  # in the suite file
    out = evalbook_cmd("run", str(suite), check=1)
    assert "unknown model tier 'fsat'" in out.stderr and "Did you mean 'fast'" in out.stderr
    assert list(store.list_runs()) == []  # nothing recorded for a model that is not there
