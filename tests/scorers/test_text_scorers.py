"""equals, contains, icontains, regex: hand-computed verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec


def run(raw: Any, output: str | None, expected: Any = None) -> ScoreOutcome:
    spec = parse_scorer_spec(raw)
    outcome = build_scorer(spec).score(
        ScoreContext(output=output, case=Case(id="c", expected=expected), value=spec.value)
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("raw", "output", "expected", "passed"),
    [
        ("equals", "Paris", "Paris", True),
        ("equals", "  Paris\n", "Paris", True),
        ("equals", "paris", "Paris", False),
        ({"equals": {"case_sensitive": False}}, "PARIS", "paris", True),
        ({"equals": {"strip": False}}, "Paris ", "Paris", False),
        ({"equals": "Lyon"}, "Lyon", "Paris", True),  # the value wins over expected
        ("equals", "Zürich", "Zürich", True),
        ({"equals": {"case_sensitive": False}}, "STRASSE", "straße", True),  # case folding
        ("equals", "", "Paris", False),
        ("equals", None, "Paris", False),
        ("equals", "", "", True),
        # Structured expected values compare as canonical JSON.
        ("equals", '{ "b": 2, "a": 1 }', {"a": 1, "b": 2}, True),
        ("equals", '{"a": 1}', {"a": 2}, False),
        ("equals", "42", 42, True),
        ("equals", "[1, 2]", [1, 2], True),
        ("equals", "not json", [1, 2], False),
    ],
)
def test_equals(raw: Any, output: str | None, expected: Any, passed: bool) -> None:
    outcome = run(raw, output, expected)
    assert outcome.passed is passed
    assert outcome.score == (1.0 if passed else 0.0)


def test_equals_rationale_shows_both_sides() -> None:
    outcome = run("equals", "Lyon", "Paris")
    assert outcome.rationale == "expected 'Paris', got 'Lyon'"


@pytest.mark.parametrize(
    ("raw", "output", "passed"),
    [
        ({"contains": "Paris"}, "The capital is Paris.", True),
        ({"contains": "paris"}, "The capital is Paris.", False),
        ({"contains": {"value": "paris", "case_sensitive": False}}, "PARIS!", True),
        ({"icontains": "paris"}, "PARIS!", True),
        ({"icontains": "STRASSE"}, "die Straße", True),
        ({"contains": "日本"}, "東京は日本の首都", True),
        ({"contains": ["a", "b"]}, "a and b", True),
        ({"contains": ["a", "z"]}, "a and b", False),  # mode all is the default for lists
        ({"contains": {"value": ["x", "b"], "mode": "any"}}, "a and b", True),
        ({"contains": {"value": ["x", "y"], "mode": "any"}}, "a and b", False),
        ({"contains": 42}, "it is 42", True),
        ({"contains": "x"}, "", False),
        ({"contains": "x"}, None, False),
        ({"not-contains": "London"}, "Paris", True),
        ({"not-contains": "Paris"}, "Paris", False),
        ({"not-icontains": "paris"}, "PARIS", False),
    ],
)
def test_contains(raw: Any, output: str | None, passed: bool) -> None:
    outcome = run(raw, output)
    assert outcome.passed is passed
    assert outcome.score == (1.0 if passed else 0.0)


def test_contains_falls_back_to_expected() -> None:
    assert run("contains", "It is Paris", "Paris").passed is True
    assert run("contains", "It is Lyon", "Paris").passed is False


def test_contains_rationale_names_the_missing_needles() -> None:
    assert run({"contains": ["a", "y", "z"]}, "a").rationale == "missing 'y', 'z'"


def test_contains_rejects_a_non_string_value() -> None:
    with pytest.raises(ValueError, match="string or a list of strings"):
        build_scorer(parse_scorer_spec({"contains": [{"a": 1}]}))
    with pytest.raises(ValueError, match="empty list"):
        build_scorer(parse_scorer_spec({"contains": []}))


@pytest.mark.parametrize(
    ("raw", "output", "passed"),
    [
        ({"regex": r"\d{3}"}, "call 555-1234", True),
        ({"regex": r"^\d+$"}, "12a", False),
        ({"regex": "paris"}, "PARIS", False),
        ({"regex": {"value": "paris", "ignore_case": True}}, "PARIS", True),
        ({"regex": "^b$"}, "a\nb", False),
        ({"regex": {"value": "^b$", "multiline": True}}, "a\nb", True),
        ({"regex": "ab"}, "xaby", True),
        ({"regex": {"value": "ab", "fullmatch": True}}, "xaby", False),
        ({"regex": {"value": "x?", "fullmatch": True}}, "", True),
        ({"regex": "é+"}, "café", True),
        ({"regex": "a"}, None, False),
        ({"not-regex": r"\d"}, "no digits", True),
    ],
)
def test_regex(raw: Any, output: str | None, passed: bool) -> None:
    assert run(raw, output).passed is passed


def test_regex_rationale_names_the_match() -> None:
    assert run({"regex": r"\d+"}, "abc 123").rationale == "matched '123' at 4"


def test_bad_regex_names_the_pattern() -> None:
    with pytest.raises(ValueError, match=r"invalid regular expression '\(unclosed'"):
        build_scorer(parse_scorer_spec({"regex": "(unclosed"}))


def test_equals_needs_expected_for_the_case() -> None:
    scorer = build_scorer(parse_scorer_spec("equals"))
    with pytest.raises(ValueError, match="case 'q7' has no expected value, which scorer 'equals'"):
        scorer.check_case(Case(id="q7"))
    scorer.check_case(Case(id="q8", expected="x"))
    build_scorer(parse_scorer_spec({"equals": "x"})).check_case(Case(id="q9"))


@pytest.mark.parametrize(
    ("raw", "output", "rationale"),
    [
        ({"contains": "Par"}, "Paris", "found 'Par'"),
        ({"contains": "Par"}, "paris", "missing 'Par'"),
        ({"contains": ["Par"]}, "Paris", "found 'Par'"),
        ({"icontains": "PAR"}, "paris", "found 'par'"),
        ({"icontains": "PAR"}, "lyon", "missing 'par'"),
        ({"contains": "{{ city }}"}, "Paris", "found 'Paris'"),  # a template: per case
        ({"contains": "{{ city }}"}, "Lyon", "missing 'Paris'"),
    ],
)
def test_one_needle_verdicts(raw: Any, output: str, rationale: str) -> None:
    """A static needle's two verdicts are made once and shared (frozen outcomes); they say
    what a needle given per case says."""
    spec = parse_scorer_spec(raw)
    scorer = build_scorer(spec)
    value = "Paris" if "{{" in str(spec.value) else spec.value
    ctx = ScoreContext(output=output, case=Case(id="c", vars={"city": "Paris"}), value=value)
    first, again = scorer.score(ctx), scorer.score(ctx)
    assert isinstance(first, ScoreOutcome) and isinstance(again, ScoreOutcome)
    passed = rationale.startswith("found")
    assert (first.score, first.passed, first.rationale) == (float(passed), passed, rationale)
    assert (first.label, first.evidence, first.parts, first.usage) == (None, {}, None, None)
    assert (first is again) is ("{{" not in str(spec.value))


def test_equal_outputs_share_one_outcome() -> None:
    assert run("equals", "Paris", "Paris") is run("equals", " Paris", "Paris")
    assert run("equals", "Paris", "Paris").rationale == "output equals the reference"
    assert run("equals", "Lyon", "Paris").rationale == "expected 'Paris', got 'Lyon'"
