"""is-json and json-schema."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


def run(raw: Any, output: str | None) -> ScoreOutcome:
    spec = parse_scorer_spec(raw)
    outcome = build_scorer(spec).score(
        ScoreContext(output=output, case=Case(id="c"), value=spec.value)
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("output", "passed"),
    [
        ('{"a": 1}', True),
        ("[1, 2, 3]", True),
        ("  42 ", True),
        ('```json\n{"a": 1}\n```', True),
        ('Here it is:\n```json\n{"a": "é"}\n```\nDone.', True),
        ('```\n{"a": 1}\n```', True),
        ("{'a': 1}", False),
        ('{"a": 1', False),
        ("", False),
        (None, False),
    ],
)
def test_is_json(output: str | None, passed: bool) -> None:
    outcome = run("is-json", output)
    assert outcome.passed is passed
    assert outcome.score == (1.0 if passed else 0.0)


def test_is_json_evidence_has_the_parse_error() -> None:
    outcome = run("is-json", '{"a": 1')
    assert outcome.evidence["error"].startswith("not JSON: Expecting")
    assert outcome.rationale == outcome.evidence["error"]


def test_json_schema_valid() -> None:
    assert run({"json-schema": SCHEMA}, '{"name": "Ada", "age": 36}').passed is True
    assert run({"json-schema": SCHEMA}, '```json\n{"name": "Zoë", "age": 0}\n```').passed


def test_json_schema_rationale_lists_paths() -> None:
    outcome = run({"json-schema": SCHEMA}, '{"name": 3, "age": -1}')
    assert outcome.passed is False
    assert outcome.rationale == (
        "2 schema violation(s): $.age: -1 is less than the minimum of 0;"
        " $.name: 3 is not of type 'string'"
    )


def test_json_schema_on_non_json_output() -> None:
    outcome = run({"json-schema": SCHEMA}, "nope")
    assert outcome.passed is False
    assert "not JSON" in (outcome.rationale or "")


def test_json_schema_accepts_schema_text() -> None:
    assert run({"json-schema": '{"type": "array"}'}, "[]").passed is True


@pytest.mark.parametrize(
    "schema",
    [{"type": "objekt"}, {"properties": {"a": {"minimum": "zero"}}}, {"required": "a"}],
)
def test_invalid_schema_is_a_value_error(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        build_scorer(parse_scorer_spec({"json-schema": schema}))


def test_schema_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="needs a JSON Schema object"):
        build_scorer(parse_scorer_spec({"json-schema": [1]}))
