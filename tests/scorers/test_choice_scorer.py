"""choice: letter extraction and answer resolution."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec
from evalbook.scorers.choice import extract_choice, resolve_answer

CHOICES = ["Paris", "London", "Berlin", "Madrid"]


def run(
    output: str | None, expected: Any = "B", choices: list[str] | None = CHOICES
) -> ScoreOutcome:
    outcome = build_scorer(parse_scorer_spec("choice")).score(
        ScoreContext(output=output, case=Case(id="c", expected=expected, choices=choices))
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("output", "index"),
    [
        ("B", 1),
        ("b", 1),
        (" (B) ", 1),
        ("B.", 1),
        ("**C**", 2),
        ("B) London", 1),
        ("C. Berlin, because…", 2),
        ("Answer: D", 3),
        ("answer: (A)", 0),
        ("Let me think. A is wrong. The answer is C.", 2),
        ("I would pick (B) here.", 1),
        ("london", 1),
        ("It must be Madrid.", 3),
        ("The answer is Berlin", 2),  # 'B' glued to 'erlin' is not a letter
        ("E", None),  # out of range
        ("(A) or (B)", None),
        ("Paris or London", None),
        ("I don't know", None),
        ("", None),
    ],
)
def test_extract_choice(output: str, index: int | None) -> None:
    assert extract_choice(output, CHOICES)[0] == index


@pytest.mark.parametrize(
    ("expected", "index"),
    [
        ("B", 1),
        ("b", 1),
        ("(C)", 2),
        (1, 1),
        (0, 0),
        ("Madrid", 3),
        ("madrid", 3),
        ("2", 2),
        (4, None),
        ("Rome", None),
        (True, None),
        (None, None),
    ],
)
def test_resolve_answer(expected: Any, index: int | None) -> None:
    assert resolve_answer(expected, CHOICES) == index


def test_choice_scores_and_labels() -> None:
    outcome = run("The answer is B.")
    assert (outcome.score, outcome.passed, outcome.label) == (1.0, True, "B")
    assert outcome.rationale == "extracted B from 'answer … B'; expected B"
    wrong = run("C")
    assert (wrong.score, wrong.passed, wrong.label) == (0.0, False, "C")
    assert run("London", expected=1).passed is True
    assert run("B", expected="London").passed is True
    none = run("no idea")
    assert (none.passed, none.label) == (False, None)
    assert none.rationale == "no answer letter or choice text found; expected B"


def test_choice_unicode_choices() -> None:
    assert run("Zürich", expected="Zürich", choices=["Genève", "Zürich"]).label == "B"


def test_check_case() -> None:
    scorer = build_scorer(parse_scorer_spec("choice"))
    scorer.check_case(Case(id="ok", expected="B", choices=CHOICES))
    with pytest.raises(ValueError, match="case 'x' has no choices"):
        scorer.check_case(Case(id="x", expected="B"))
    with pytest.raises(ValueError, match="case 'y' has no expected value"):
        scorer.check_case(Case(id="y", choices=CHOICES))
    with pytest.raises(ValueError, match="case 'z': answer 'F' is not a letter"):
        scorer.check_case(Case(id="z", expected="F", choices=CHOICES))
