"""The ``human`` scorer: spec forms, bad options, and "awaiting review" that fails nothing."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.result import ResultStatus
from evalbook.core.suite import Case, ScorerKind
from evalbook.scorers import SCORERS, build_scorer, parse_scorer_spec, spec_to_dict
from evalbook.scorers.base import ScoreContext
from evalbook.scorers.builtin.human import AWAITING_REVIEW, Human
from evalbook.storage.store import Store

from ..storage.feedback_runs import reviewed_run


def _human(raw: Any) -> Human:
    scorer = build_scorer(parse_scorer_spec(raw))
    assert isinstance(scorer, Human)
    return scorer


@pytest.mark.parametrize(
    ("raw", "criterion", "scale"),
    [
        ("human", "human", (0.0, 1.0)),
        ({"human": "helpfulness"}, "helpfulness", (0.0, 1.0)),
        ({"human": {"criterion": "tone", "scale": [1, 5]}}, "tone", (1.0, 5.0)),
        ({"human": {"scale": [0, 10]}, "name": "review"}, "review", (0.0, 10.0)),
        ({"type": "human", "name": "review", "criterion": "tone"}, "tone", (0.0, 1.0)),
    ],
)
def test_spec_forms_round_trip(raw: Any, criterion: str, scale: tuple[float, float]) -> None:
    scorer = _human(raw)
    assert scorer.criterion == criterion and scorer.options.scale == scale
    assert scorer.kind is ScorerKind.human and "human" in SCORERS.names()
    again = _human(spec_to_dict(scorer.spec))
    assert again.spec == scorer.spec and again.criterion == criterion


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"human": {"scale": [5, 1]}}, "low < high"),
        ({"human": {"scale": [1, 1]}}, "low < high"),
        ({"human": {"scale": [0, float("inf")]}}, "finite"),
        ({"human": {"scale": [0, 1, 2]}}, "scale"),
        ({"human": {"criterion": "a", "value": "b"}}, "given twice"),
        ({"human": 3}, "names the criterion"),
        ({"human": {"criterion": ""}}, "criterion"),
        ({"human": {"rubric": "x"}}, "rubric"),
    ],
)
def test_bad_specs_name_the_problem(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _human(raw)


def test_score_is_awaiting_review() -> None:
    scorer = _human({"human": {"criterion": "tone", "scale": [1, 5]}})
    outcome = scorer.score(ScoreContext(output="hi", case=Case(id="c1")))
    assert outcome.score is None and outcome.passed is None
    assert outcome.label == AWAITING_REVIEW
    assert outcome.evidence == {"details": {"criterion": "tone", "scale": [1.0, 5.0]}}
    assert "tone" in (outcome.rationale or "")


async def test_an_unreviewed_case_passes_on_its_other_scorers(store: Store) -> None:
    run = await reviewed_run(store)
    # The stand-in judge gives c0..c3 1.0, 0.75, 0.25, 0.0 (threshold 0.5); `contains`
    # passes every case; `human` awaits review and changes no verdict and no mean.
    assert run.counts.passed == 2 and run.counts.failed == 2
    # Case scores are the means of the scored records: 1, 0.875, 0.625, 0.5.
    assert run.score == pytest.approx(0.75)
    c0 = store.get_result(run.id, "c0")
    assert c0.status is ResultStatus.passed
    human = next(s for s in c0.scores if s.kind is ScorerKind.human)
    assert human.score is None and human.passed is None and human.label == AWAITING_REVIEW
    assert human.evidence.details == {"criterion": "helpfulness", "scale": [1.0, 5.0]}
    assert store.get_result(run.id, "c2").status is ResultStatus.failed  # the judge's 0.25


async def test_a_run_of_human_scorers_alone_passes(store: Store) -> None:
    run = await reviewed_run(store, scorers=["human"])
    assert run.counts.passed == 4 and run.counts.failed == 0
    result = store.get_result(run.id, "c3")
    assert [s.label for s in result.scores] == [AWAITING_REVIEW] and result.score is None
