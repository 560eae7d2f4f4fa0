"""non-empty: seed 004's default pass criterion."""

from __future__ import annotations

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec


@pytest.mark.parametrize(
    ("output", "error", "passed"),
    [
        ("hello", None, True),
        ("\u00e9", None, True),
        ("", None, False),
        (" \n\t", None, False),
        (None, None, False),
        ("partial", "TransientError: timeout", False),
    ],
)
def test_non_empty(output: str | None, error: str | None, passed: bool) -> None:
    outcome = build_scorer(parse_scorer_spec("non-empty")).score(
        ScoreContext(output=output, case=Case(id="c"), error=error)
    )
    assert isinstance(outcome, ScoreOutcome)
    assert outcome.passed is passed
    assert outcome.score == (1.0 if passed else 0.0)
