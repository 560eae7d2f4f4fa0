"""Model tiers from the settings: defaults to the embedded model, EVALBOOK_TIERS as JSON
or a file, extra names, clear errors; ``tier:NAME`` as a run's model is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evalbook
from evalbook.core.model_config import DEFAULT_MODEL_SPEC
from evalbook.errors import ConfigError, UnknownNameError
from evalbook.providers.tiers import load_tiers, resolve_tier, tier_name
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def test_every_default_tier_is_the_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALBOOK_TIERS", raising=False)
    tiers = load_tiers()
    assert sorted(tiers) == ["fast", "premium", "standard"]
    assert {c.spec for c in tiers.values()} == {DEFAULT_MODEL_SPEC}


def test_tiers_from_json_a_file_or_the_home_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"fast": "mock:echo", "cheap": "mock:echo"}))
    tiers = load_tiers()
    assert tiers["fast"].spec == "mock:echo" and tiers["standard"].spec == DEFAULT_MODEL_SPEC
    assert "cheap" in tiers  # names are configurable
    path = tmp_path / "tiers.yaml"
    path.write_text("premium: {provider: mock, name: constant, params: {text: p}}\n")
    monkeypatch.setenv("EVALBOOK_TIERS", str(path))
    assert resolve_tier("premium").params == {"text": "p"}
    monkeypatch.delenv("EVALBOOK_TIERS")
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "tiers.yaml").write_text("standard: mock:echo\n")
    assert resolve_tier("standard").spec == "mock:echo"


def test_bad_tier_settings_and_names_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALBOOK_TIERS", "{not json")
    with pytest.raises(ConfigError, match="EVALBOOK_TIERS is not valid JSON"):
        load_tiers()
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"fast": "tier:standard"}))
    with pytest.raises(ConfigError, match="not to another tier"):
        load_tiers()
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"fast": {"provider": "mock"}}))
    with pytest.raises(ConfigError, match="tier 'fast'"):
        load_tiers()
    monkeypatch.setenv("EVALBOOK_TIERS", "/nonexistent/tiers.yaml")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_tiers()
    monkeypatch.delenv("EVALBOOK_TIERS")
    with pytest.raises(UnknownNameError, match="Did you mean 'standard'"):
        resolve_tier("standrd")
    assert tier_name("tier:fast") == "fast" and tier_name("mock:echo") is None


async def test_a_run_records_the_tier_and_the_model_it_became(
    monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    monkeypatch.setenv("EVALBOOK_TIERS", json.dumps({"fast": "mock:echo"}))
    suite = load_suite_from_dict({"id": "t", "prompt": "hi {{ x }}", "cases": [{"vars": {"x": 1}}]})
    run = await evalbook.arun(suite, model="tier:fast", store=store)
    assert run.tier == "fast" and run.model["provider"] == "mock" and run.passed
    assert store.get_run(run.id).tier == "fast"
    # A suite whose kinds all name one tier runs on it when no model is named.
    kinds = load_suite_from_dict(
        {
            "id": "k",
            "kinds": {
                "shout": {"messages": [{"role": "user", "content": "{{ w }}!"}], "tier": "fast"}
            },
            "cases": [
                {"vars": {"_kind": "shout", "w": "hey"}},
                {"vars": {"_kind": "shout", "w": "yo"}},
            ],
        }
    )
    by_kind = await evalbook.arun(kinds, store=store)
    assert by_kind.tier == "fast" and by_kind.model["name"] == "echo"
    assert [r.output for r in store.iter_results(by_kind.id)] == ["hey!", "yo!"]
