"""Every serialisable spec form parses, round-trips, and fails clearly when malformed."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import ScorerSpec
from evalbook.errors import UnknownNameError
from evalbook.scorers import build_scorer, parse_scorer_spec, spec_to_dict

FORMS: list[tuple[Any, ScorerSpec]] = [
    ("non-empty", ScorerSpec(type="non-empty")),
    ("not-contains", ScorerSpec(type="not-contains")),
    ({"contains": "x"}, ScorerSpec(type="contains", value="x")),
    ({"not-contains": ["a", "b"]}, ScorerSpec(type="not-contains", value=["a", "b"])),
    (
        {"contains": {"value": "x", "case_sensitive": False}},
        ScorerSpec(type="contains", value="x", config={"case_sensitive": False}),
    ),
    (
        {"icontains": {"value": "x", "metric": "m", "weight": 2}},
        ScorerSpec(type="icontains", value="x", name="m", weight=2),
    ),
    (
        {
            "type": "contains",
            "value": "x",
            "case_sensitive": False,
            "weight": 2,
            "threshold": 0.5,
            "name": "mentions-paris",
        },
        ScorerSpec(
            type="contains",
            value="x",
            config={"case_sensitive": False},
            weight=2,
            threshold=0.5,
            name="mentions-paris",
        ),
    ),
    (
        {"type": "regex", "value": "a+", "metric": "m"},
        ScorerSpec(type="regex", value="a+", name="m"),
    ),
    (
        {"type": "numeric", "config": {"tolerance": 0.1}, "pick": "last"},
        ScorerSpec(type="numeric", config={"tolerance": 0.1, "pick": "last"}),
    ),
    # A JSON Schema as the shorthand's value (it has keys that are not options).
    (
        {"json-schema": {"type": "object", "required": ["a"]}},
        ScorerSpec(type="json-schema", value={"type": "object", "required": ["a"]}),
    ),
    (
        {"json-schema": {"value": {"type": "object"}}},
        ScorerSpec(type="json-schema", value={"type": "object"}),
    ),
    # The type key beside spec fields and options (a YAML list item).
    ({"contains": "Paris", "weight": 3}, ScorerSpec(type="contains", value="Paris", weight=3)),
    (
        {"equals": "x", "case_sensitive": False, "metric": "m"},
        ScorerSpec(type="equals", value="x", config={"case_sensitive": False}, name="m"),
    ),
    (
        {"not-regex": {"value": "a", "ignore_case": True}, "threshold": 0.5},
        ScorerSpec(type="not-regex", value="a", config={"ignore_case": True}, threshold=0.5),
    ),
    ("python:pkg.mod:fn", ScorerSpec(type="python", value="pkg.mod:fn")),
    ({"python": "pkg.mod:fn"}, ScorerSpec(type="python", value="pkg.mod:fn")),
]


@pytest.mark.parametrize(("raw", "expected"), FORMS)
def test_every_form_parses(raw: Any, expected: ScorerSpec) -> None:
    assert parse_scorer_spec(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), FORMS)
def test_every_form_round_trips(raw: Any, expected: ScorerSpec) -> None:
    spec = parse_scorer_spec(raw)
    canonical = spec_to_dict(spec)
    assert set(canonical) == {"type", "value", "config", "name", "weight", "threshold"}
    assert parse_scorer_spec(canonical) == spec


def test_spec_passes_through() -> None:
    spec = ScorerSpec(type="equals")
    assert parse_scorer_spec(spec) is spec


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "not a scorer type name"),
        ("not-", "not a scorer type name"),
        ("has space", "not a scorer type name"),
        ({}, "empty"),
        ({"contains": "x", "equals": "y"}, "no 'type'"),
        ({"value": "x"}, "no 'type'"),
        ({"weight": 2, "mystery": 1, "enigma": 2}, "no single key naming a scorer"),
        ({"contains": "x", "value": "y"}, "given twice"),
        ({"contains": {"value": "x", "weight": 1}, "weight": 2}, "given twice"),
        ({"type": 3}, "must be a string"),
        ({"type": "contains", "weight": -1}, "weight"),
        ({"type": "contains", "threshold": "high"}, "threshold"),
        ({"type": "contains", "config": [1]}, "'config' must be a mapping"),
        ({"type": "contains", "config": {"mode": "any"}, "mode": "all"}, "given twice"),
        ({"type": "contains", "name": "a", "metric": "b"}, "differ"),
        (42, "string or a mapping"),
    ],
)
def test_malformed_specs_raise_value_error(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scorer_spec(raw)


def test_unknown_type_suggests_close_names() -> None:
    spec = parse_scorer_spec({"contans": "x"})  # parsing is syntax; names are checked on build
    with pytest.raises(UnknownNameError, match="Did you mean 'contains'"):
        build_scorer(spec)


def test_unknown_negated_type_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'regex'"):
        build_scorer(parse_scorer_spec("not-regx"))


def test_unknown_option_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="case_sensitiv"):
        build_scorer(parse_scorer_spec({"contains": {"value": "x", "case_sensitiv": False}}))


def test_missing_value_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        build_scorer(parse_scorer_spec("regex"))
