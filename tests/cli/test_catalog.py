"""``evalbook scorers list`` and ``evalbook providers list``: what the registries hold."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app
from evalbook.core import ScorerKind
from evalbook.core.model_config import parse_model_spec
from evalbook.providers import PROVIDERS
from evalbook.scorers import SCORERS, ScoreContext

runner = CliRunner()


@pytest.fixture
def plugin_scorer() -> Iterator[str]:
    @evalbook.scorer(name="shouts", kind=ScorerKind.heuristic)
    def shouts(ctx: ScoreContext) -> bool:
        """The output is in capitals."""
        return (ctx.output or "").isupper()

    yield "shouts"
    SCORERS.unregister("shouts")


def test_scorers_list_json_matches_the_registry(plugin_scorer: str) -> None:
    result = runner.invoke(app, ["scorers", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [s["name"] for s in listed] == SCORERS.names()
    by_name = {s["name"]: s for s in listed}
    kinds = {k.value for k in ScorerKind}
    for name, entry in by_name.items():
        cls = SCORERS.get(name)
        assert entry["problem"] is None, entry
        assert entry["kind"] == str(cls.kind) and entry["kind"] in kinds
        assert [o["name"] for o in entry["options"]] == list(cls.Options.model_fields)
        assert entry["takes_value"] == cls.takes_value
    contains = {o["name"]: o for o in by_name["contains"]["options"]}
    assert contains["case_sensitive"] == {
        "name": "case_sensitive",
        "type": "bool",
        "required": False,
        "default": True,
    }
    assert by_name["shouts"]["kind"] == "heuristic"
    assert by_name["shouts"]["summary"] == "The output is in capitals."
    assert by_name["llm-judge"]["kind"] == "llm_judge"


def test_scorers_list_table_names_every_scorer() -> None:
    result = runner.invoke(app, ["scorers", "list"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for name in SCORERS.names():
        assert f" {name} " in result.output
    assert "<bool>" not in result.output and "not-" in result.output


def test_providers_list_json_gives_spec_forms_that_parse() -> None:
    result = runner.invoke(app, ["providers", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [p["name"] for p in listed] == PROVIDERS.names()
    for entry in listed:
        assert entry["forms"], entry
        assert entry["target"] == PROVIDERS.target(entry["name"])
        for form in entry["forms"]:
            if "MODEL" not in form:
                assert parse_model_spec(form).provider == entry["name"], form
    local = next(p for p in listed if p["name"] == "local")
    assert "local:smollm2-135m" in local["forms"]


def test_providers_list_table() -> None:
    result = runner.invoke(app, ["providers", "list"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "openai-compatible" in result.output and "evalbook[browser]" in result.output
