"""The published JSON Schema accepts the example suites and rejects unknown fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import Case
from evalbook.suites import SCHEMA_ID, suite_json_schema
from evalbook.suites.loader import SUITE_KEYS

ROOT = Path(__file__).parents[2]
VALID = [
    *sorted((ROOT / "examples" / "suites").glob("*.yaml")),
    *sorted((ROOT / "tests" / "fixtures" / "suites").glob("*.yaml")),
]


def as_json(path: Path) -> Any:
    # JSON has string keys only: YAML's `1:` (a prompt version) becomes "1".
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def validator() -> jsonschema.Draft202012Validator:
    schema = suite_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_identity() -> None:
    schema = suite_json_schema()
    assert schema["$id"] == SCHEMA_ID == "https://evalbook.dev/schema/suite.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_suites_validate(path: Path) -> None:
    errors = [e.message for e in validator().iter_errors(as_json(path))]
    assert errors == []


def test_unknown_top_level_field_is_rejected() -> None:
    data = as_json(ROOT / "examples" / "suites" / "basic.yaml")
    data["scorrers"] = ["non-empty"]
    assert not validator().is_valid(data)
    bad = ROOT / "tests" / "fixtures" / "suites" / "bad" / "unknown_top.yaml"
    assert not validator().is_valid(as_json(bad))


@pytest.mark.parametrize(
    "case",
    [{"id": "a", "expcted": 1}, {"file": "x.jsonl", "vars": {}}, {"file": "x.txt"}],
)
def test_bad_cases_are_rejected(case: dict[str, Any]) -> None:
    assert not validator().is_valid({"id": "x", "prompt": "hi", "cases": [case]})


@pytest.mark.parametrize(
    "model",
    ["no-colon", {"spec": "a:b", "provider": "a"}, {"provider": "a"}, {"name": "x", "bogus": 1}],
)
def test_bad_models_are_rejected(model: Any) -> None:
    assert not validator().is_valid({"id": "x", "model": model, "cases": [{"id": "a"}]})


def test_schema_follows_the_models() -> None:
    schema = suite_json_schema()
    assert set(schema["properties"]) == SUITE_KEYS
    assert set(schema["$defs"]["case"]["properties"]) == set(Case.model_fields)
    model_object = schema["$defs"]["model"]["oneOf"][1]
    assert set(model_object["properties"]) == set(ModelConfig.model_fields) | {"spec"}


def test_returns_a_copy() -> None:
    suite_json_schema()["properties"].clear()
    assert suite_json_schema()["properties"]
