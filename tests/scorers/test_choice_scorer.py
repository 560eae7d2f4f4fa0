"""choice: letter extraction and answer resolution."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.choice import extract_choice, resolve_answer

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
    assert extract_choice(output, CHOICES).index == index


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
    assert outcome.rationale == "extracted B from an explicit answer ('answer is B'); expected B"
    details = outcome.evidence["details"]
    assert details["matched"] == "answer is B" and details["span"] == [4, 15]
    assert (details["picked"], details["picked_text"], details["expected"]) == ("B", "London", "B")
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


@pytest.mark.parametrize(
    ("output", "choices", "index", "matched"),
    [
        # Texts match only as whole words: each of these picked a choice before.
        ("Both use propositions.", ["P", "Q", "P and Q", "Neither"], None, None),
        ("The argument is invalid.", ["Valid", "Invalid, because P"], None, None),
        ("It has 14 protons.", ["4", "6", "8", "10"], None, None),
        ("It has 14 protons.", ["4", "14", "24", "40"], 1, "14"),
        ("x = -4", ["4", "-4"], 1, "-4"),
        ("About 3.14, I think", ["3", "3.14"], 1, "3.14"),
        # A longer choice wins over one it contains.
        ("The answer is P and Q.", ["P", "Q", "P and Q", "Neither"], 2, "P and Q"),
        # An explicit answer wins over texts mentioned elsewhere.
        ("Paris is nice, London is big.\nAnswer: B", CHOICES, 1, "Answer: B"),
        ("Paris or London? Answer: London", CHOICES, 1, "London"),
        ("The correct option is C.", CHOICES, 2, "correct option is C"),
        # Two different answers: refuse rather than guess.
        ("Answer: A. On reflection, answer: B.", CHOICES, None, None),
        ("Answer: Paris or London", CHOICES, None, None),
        ("Paris, or maybe Berlin", CHOICES, None, None),
    ],
)
def test_choice_matches_whole_words_and_refuses_to_guess(
    output: str, choices: list[str], index: int | None, matched: str | None
) -> None:
    pick = extract_choice(output, choices)
    assert (pick.index, pick.matched) == (index, matched), pick
    if pick.span is not None:
        assert output[pick.span[0] : pick.span[1]].casefold() == (matched or "").casefold()


def test_a_refusal_says_which_choices_matched() -> None:
    outcome = run("Paris, or maybe Berlin")
    assert (outcome.score, outcome.passed, outcome.label) == (0.0, False, None)
    assert outcome.rationale == (
        "2 choice texts in the output: A ('Paris'), C ('Berlin'); expected B"
    )
    assert outcome.evidence["details"]["expected"] == "B"
