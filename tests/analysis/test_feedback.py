"""Feedback summaries, the run's ``feedback_scores``, judge-vs-human agreement and the export
of feedback, on a run whose every number is known (``tests/storage/feedback_runs.py``)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from evalbook.analysis.feedback import (
    feedback_scores_json,
    feedback_summary,
    human_verdicts,
    record_feedback,
    refresh_feedback_scores,
)
from evalbook.analysis.judges.agreement import feedback_agreement
from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.io.export import record_schema, to_string
from evalbook.storage.feedback import add_feedback, list_feedback
from evalbook.storage.store import Store

from ..storage.feedback_runs import reviewed_run

#: Student's t quantile 0.975 with 4 degrees of freedom.
T_4 = 2.7764451051977987


async def _reviews(store: Store) -> RunRecord:
    """c0: ann 4 then 5; c1: ann 2, bob 3; c2: ann 2; c3: ann 1 (helpfulness, 1–5)."""
    run = await reviewed_run(store)
    for case, score, author in [
        ("c0", 4, "ann"),
        ("c0", 5, "ann"),
        ("c1", 2, "ann"),
        ("c1", 3, "bob"),
        ("c2", 2, "ann"),
        ("c3", 1, "ann"),
    ]:
        record_feedback(store, run.id, case, score=score, author=author)
    return run


async def test_feedback_scores_are_exact_and_stored_on_the_run(store: Store) -> None:
    run = await _reviews(store)
    # Latest per (result, author): 5, 2, 3, 2, 1 → mean 2.6. A t interval would read
    # [2.6 - t·sem, 2.6 + t·sem] = [0.72, 4.48], past the scale's 1; the bootstrap stays in.
    half = T_4 * (2.3 / 5) ** 0.5
    assert 2.6 - half < 1
    summary = feedback_summary(store, run.id[:8])
    h = summary["helpfulness"]
    assert (h.mean, h.n, h.scale) == (pytest.approx(2.6), 5, (1.0, 5.0))
    assert h.ci_low is not None and h.ci_high is not None
    assert 1.0 <= h.ci_low < 2.6 < h.ci_high <= 5.0
    assert h.ci_method == "percentile-bootstrap:10000:0.95"
    assert h.authors == {"ann": 4, "bob": 1} and h.reviewed == 4 and h.awaiting == 0
    stored = store.get_run(run.id).feedback_scores
    assert stored is not None and stored == feedback_scores_json(summary)
    assert " " not in stored
    parsed = json.loads(stored)
    assert list(parsed) == ["helpfulness"]
    assert parsed["helpfulness"]["n"] == 5 and parsed["helpfulness"]["mean"] == pytest.approx(2.6)
    assert parsed["helpfulness"]["ci_low"] == h.ci_low
    assert parsed["helpfulness"]["ci_high"] == h.ci_high
    assert parsed["helpfulness"]["ci_method"] == h.ci_method
    assert len(list_feedback(store, run.id)) == 6  # the correction of c0 is kept


async def test_awaiting_count_drops_as_reviews_arrive(store: Store) -> None:
    run = await reviewed_run(store)
    assert store.get_run(run.id).feedback_scores is None
    summary = feedback_summary(store, run.id)
    assert summary["helpfulness"].awaiting == 4 and summary["helpfulness"].n == 0
    assert feedback_scores_json(summary) is None

    record_feedback(store, run.id, "c0", score=5, author="ann")
    assert feedback_summary(store, run.id)["helpfulness"].awaiting == 3
    record_feedback(store, run.id, "c1", comment="need to check the source", author="ann")
    after_comment = feedback_summary(store, run.id)["helpfulness"]
    assert after_comment.awaiting == 3 and after_comment.authors == {"ann": 2}  # not a review
    record_feedback(store, run.id, "c1", label="off-topic", author="bob")
    record_feedback(store, run.id, "c1", label="off-topic", author="cy")
    after_label = feedback_summary(store, run.id)["helpfulness"]
    assert after_label.awaiting == 2 and after_label.labels == {"off-topic": 2}
    assert json.loads(store.get_run(run.id).feedback_scores or "") == {
        "helpfulness": {
            "mean": 5.0,
            "n": 1,
            "ci_low": None,
            "ci_high": None,
            "ci_method": "too-few-ratings:n<5",
        }
    }
    # Feedback under another name is summarised beside it; nothing awaits it.
    record_feedback(store, run.id, "c2", name="tone", score=0.5)
    record_feedback(store, run.id, "c3", name="tone", score=1)
    summary = feedback_summary(store, run.id)
    assert list(summary) == ["helpfulness", "tone"]
    tone = summary["tone"]
    assert (tone.mean, tone.n, tone.awaiting, tone.scale) == (0.75, 2, 0, None)
    assert tone.authors == {"anonymous": 2}


async def test_name_defaults_and_scale_checks(store: Store) -> None:
    run = await reviewed_run(store)
    row = record_feedback(store, run.id, "c0", score=4)
    assert row.name == "helpfulness"  # the run's only human criterion
    with pytest.raises(UserError, match=r"score 6 for 'helpfulness' is outside its scale 1–5"):
        record_feedback(store, run.id, "c0", score=6)
    with pytest.raises(UserError, match="outside its scale"):
        record_feedback(store, run.id, "c0", score=0.5)

    plain = await reviewed_run(store, scorers=[{"contains": "answer"}])
    assert record_feedback(store, plain.id, "c0", score=7).name == "human"  # no scale known

    both = await reviewed_run(store, scorers=[{"human": "tone"}, {"human": "accuracy"}])
    with pytest.raises(UserError, match=r"several human criteria \(accuracy, tone\)"):
        record_feedback(store, both.id, "c0", score=1)
    assert record_feedback(store, both.id, "c0", name="tone", score=1).name == "tone"
    assert feedback_summary(store, both.id)["accuracy"].awaiting == 4
    assert feedback_summary(store, both.id)["tone"].awaiting == 3


async def test_refresh_recomputes_from_the_rows(store: Store) -> None:
    run = await reviewed_run(store)
    add_feedback(store, run.id, "c0", name="helpfulness", score=3)  # bypasses the refresh
    assert store.get_run(run.id).feedback_scores is None
    text = refresh_feedback_scores(store, run.id)
    assert text == store.get_run(run.id).feedback_scores
    assert json.loads(text or "")["helpfulness"]["mean"] == 3.0


async def test_judge_vs_human_agreement_is_exact(store: Store) -> None:
    run = await reviewed_run(store)
    assert feedback_agreement(store, run.id) == {}
    # Human (1–5): c0 5; c1 ann 2 and bob 3 → 2.5; c2 2; c3 1.
    # Normalised: 1, 0.375, 0.25, 0 against the judge's 1, 0.75, 0.25, 0.
    for case, score, author in [
        ("c0", 5, "ann"),
        ("c1", 2, "ann"),
        ("c1", 3, "bob"),
        ("c2", 2, "ann"),
        ("c3", 1, "ann"),
    ]:
        record_feedback(store, run.id, case, score=score, author=author)
    [(name, a)] = feedback_agreement(store, run.id).items()
    assert name == "helpfulness" and a.judges == ("fake-judge",) and a.n == 4
    # Interval alpha with two raters and no gaps: 1 − (N−1)·Σd² / (N·Σ(v−v̄)²) over the
    # N = 8 values: Σd² = 0.375², Σ(v−v̄)² = 1.185546875 → 1 − 63/607.
    assert a.alpha is not None and a.alpha.value == pytest.approx(544 / 607)
    assert a.alpha.n_items == 4 and a.alpha.n_raters == 2
    # Pass at the judge's threshold 0.5: judge T T F F, human T F F F → κ = (¾ − ½)/(1 − ½).
    assert a.pass_kappa == pytest.approx(0.5)
    assert a.judge_mean == pytest.approx(0.5) and a.human_mean == pytest.approx(1.625 / 4)
    assert a.problem is None


async def test_agreement_needs_a_scale_for_scores_beyond_one(store: Store) -> None:
    run = await reviewed_run(store, scorers=["fake-judge"])
    record_feedback(store, run.id, "c0", name="helpfulness", score=1.0)
    [a] = feedback_agreement(store, run.id).values()
    assert a.n == 1 and a.alpha is not None and a.alpha.value is None and a.pass_kappa is None
    record_feedback(store, run.id, "c1", name="helpfulness", score=4)
    [a] = feedback_agreement(store, run.id).values()
    assert a.alpha is None and a.problem is not None and "outside [0, 1]" in a.problem


async def test_export_carries_feedback_as_human_records(store: Store) -> None:
    run = await reviewed_run(store)
    record_feedback(store, run.id, "c1", score=2, comment="misses the point", author="ann")
    record_feedback(store, run.id, "c1", score=3, label="meh", author="bob")
    record_feedback(store, run.id, "c1", name="tone", score=0.9, comment="polite")
    record_feedback(store, run.id, "c2", comment="only a note")
    human = human_verdicts(store, run.id)
    records = [
        json.loads(line)
        for line in to_string(run, store.iter_results(run.id), "jsonl", human).splitlines()
    ]
    schema = record_schema()
    for rec in records:
        jsonschema.validate(rec, schema)
    assert len(records) == 4 * 3 + 1  # one per (case, scorer), plus c1's unasked-for "tone"
    by = {(r["case_id"], r["scorer"]["name"]): r for r in records}
    reviewed = by["c1", "human"]
    assert reviewed["scorer"]["type"] == "human" and reviewed["label"] == "meh"
    assert reviewed["score"] == pytest.approx(((2 - 1) / 4 + (3 - 1) / 4) / 2)
    assert reviewed["evidence"]["rationale"] == "ann: misses the point"
    tone = by["c1", "tone"]
    assert tone["scorer"] == {"id": "feedback:tone", "name": "tone", "type": "human"}
    assert tone["score"] == pytest.approx(0.9) and tone["label"] == "reviewed"
    assert tone["evidence"]["rationale"] == "anonymous: polite"
    # No score yet: the human scorer's record still says so.
    assert by["c2", "human"]["label"] == "awaiting review" and by["c2", "human"]["score"] == 0
    assert by["c0", "human"]["label"] == "awaiting review"
    assert len({r["id"] for r in records}) == len(records)


def test_rating_intervals_stay_on_the_scale_and_say_how() -> None:
    from evalbook.analysis.feedback import describe_method, rating_interval

    # Two ratings of a 1-5 scale: a t interval said [-16.6, 21.6]; now: too few.
    assert rating_interval([1.0, 4.0]) == (2.5, None, None, "too-few-ratings:n<5")
    assert describe_method("too-few-ratings:n<5") == "too few ratings for an interval (n < 5)"
    assert describe_method("percentile-bootstrap:10000:0.95") == (
        "95% percentile bootstrap, 10,000 resamples"
    )
    mean, low, high, method = rating_interval([1.0, 5.0, 1.0, 5.0, 5.0, 1.0])
    assert mean == pytest.approx(3.0) and low is not None and high is not None
    assert 1.0 <= low < 3.0 < high <= 5.0 and method.startswith("percentile-bootstrap")
    assert rating_interval([1.0, 5.0, 1.0, 5.0, 5.0, 1.0]) == (mean, low, high, method)
    assert rating_interval([4.0] * 6)[1:3] == (4.0, 4.0)
