"""numeric: extraction and tolerance."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.numeric import find_numbers, to_number


def run(raw: Any, output: str | None, expected: Any = None) -> ScoreOutcome:
    spec = parse_scorer_spec(raw)
    outcome = build_scorer(spec).score(
        ScoreContext(output=output, case=Case(id="c", expected=expected), value=spec.value)
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("The answer is 42.", [42]),
        ("1,234 and 1,234,567.5", [1234, 1234567.5]),
        ("-5 and \u22123 and +2", [-5, -3, 2]),
        ("1e3, 2.5E-1 and .5", [1000, 0.25, 0.5]),
        ("v2 x3 1,2,3", [1, 2, 3]),
        ("12,34", [12, 34]),
        ("5-3", [5, 3]),
        ("no numbers", []),
        ("", []),
        ("\u0663 and \uff14\uff12", [3, 42]),  # any Unicode decimal digit, as float() reads
    ],
)
def test_find_numbers(text: str, numbers: list[float]) -> None:
    assert find_numbers(text) == numbers


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), (2.5, 2.5), ("1,000", 1000.0), (" -7 ", -7.0), ("abc", None), (True, None)],
)
def test_to_number(value: Any, number: float | None) -> None:
    assert to_number(value) == number


@pytest.mark.parametrize(
    ("raw", "output", "expected", "passed"),
    [
        ("numeric", "The answer is 42.", 42, True),
        ("numeric", "The answer is 42.", "42", True),
        ("numeric", "It is 1,234 apples", 1234, True),
        ("numeric", "about 3.14159", 3.14, False),
        ({"numeric": {"tolerance": 0.01}}, "about 3.14159", 3.14, True),
        ({"numeric": {"rel_tolerance": 0.1}}, "105", 100, True),
        ({"numeric": {"rel_tolerance": 0.01}}, "105", 100, False),
        ("numeric", "2 apples and 3 pears: 5", 5, False),  # first number
        ({"numeric": {"pick": "last"}}, "2 apples and 3 pears: 5", 5, True),
        ({"numeric": {"pick": "any"}}, "2 apples and 3 pears: 5 total", 3, True),
        ({"numeric": {"pick": "any"}}, "2 apples and 3 pears", 4, False),
        ({"numeric": {"pick": "only"}}, "2 and 3", 2, False),
        ({"numeric": {"pick": "only"}}, "just 2", 2, True),
        ("numeric", "\u22125 degrees", -5, True),
        ("numeric", "1e3", 1000, True),
        ({"numeric": 7}, "7", None, True),
        ("numeric", "", 1, False),
        ("numeric", None, 1, False),
    ],
)
def test_numeric(raw: Any, output: str | None, expected: Any, passed: bool) -> None:
    outcome = run(raw, output, expected)
    assert outcome.passed is passed
    assert outcome.score == (1.0 if passed else 0.0)


def test_numeric_label_and_rationale() -> None:
    outcome = run("numeric", "I get 41.", 42)
    assert outcome.label == "41"
    assert outcome.rationale == "41 (first number) does not match 42"
    assert run("numeric", "no idea", 42).rationale == "no number in the output"


def test_numeric_needs_a_numeric_expected() -> None:
    scorer = build_scorer(parse_scorer_spec("numeric"))
    with pytest.raises(ValueError, match="case 'n1' has no expected value"):
        scorer.check_case(Case(id="n1"))
    with pytest.raises(ValueError, match=r"case 'n2'.*needs a number as expected, not 'many'"):
        scorer.check_case(Case(id="n2", expected="many"))
    scorer.check_case(Case(id="n3", expected="1,024"))


def test_numeric_value_must_be_a_number() -> None:
    with pytest.raises(ValueError, match="needs a number as the value"):
        build_scorer(parse_scorer_spec({"numeric": "lots"}))


def test_numeric_rejects_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        build_scorer(parse_scorer_spec({"numeric": {"tolerance": -1}}))
