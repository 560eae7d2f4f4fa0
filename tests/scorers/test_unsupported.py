"""``unsupported``: a check an import could not map errors on every case, never passes."""

from __future__ import annotations

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.unsupported import UnsupportedCheck

SPEC = {
    "type": "unsupported",
    "tool": "promptfoo",
    "feature": "javascript",
    "location": "promptfooconfig.yaml:41",
    "reason": "evalbook does not run JavaScript",
    "original": {"type": "javascript", "value": "output.length < 100"},
}


@pytest.mark.parametrize("output", ["short", "", None])
def test_every_output_errors_with_the_reason(output: str | None) -> None:
    scorer = build_scorer(parse_scorer_spec(SPEC))
    ctx = ScoreContext(output=output, case=Case(id="c"))
    with pytest.raises(UnsupportedCheck) as info:
        scorer.score(ctx)
    assert str(info.value) == (
        "promptfoo 'javascript' at promptfooconfig.yaml:41 was not imported: evalbook does"
        " not run JavaScript. Port it to an evalbook scorer or remove it from the suite"
    )


def test_negation_does_not_turn_it_into_a_pass() -> None:
    scorer = build_scorer(parse_scorer_spec({**SPEC, "type": "not-unsupported"}))
    with pytest.raises(UnsupportedCheck):
        scorer.score(ScoreContext(output="x", case=Case(id="c")))


def test_it_needs_a_reason_and_takes_no_value() -> None:
    with pytest.raises(ValueError, match="reason"):
        build_scorer(parse_scorer_spec({"type": "unsupported", "tool": "x", "feature": "y"}))
    with pytest.raises(ValueError, match="takes no value"):
        build_scorer(parse_scorer_spec({**SPEC, "value": "output.length"}))
