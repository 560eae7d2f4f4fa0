"""Run aggregates, checked against scipy and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from evalbook.executor.aggregate import summarize
from evalbook.stats.intervals import mean_ci, t_critical
from evalbook.storage.facts import ResultFact, ScoreFact


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_t_critical_matches_scipy(confidence: float) -> None:
    for df in [*range(1, 60), 100, 500, 10_000]:
        expected = stats.t.ppf((1 + confidence) / 2, df)
        tolerance = 1e-6
        assert t_critical(df, confidence) == pytest.approx(expected, rel=tolerance), df


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=200))
def test_mean_ci_matches_scipy(values: list[float]) -> None:
    mean, lo, hi = mean_ci(values, proportion=False)
    assert mean == pytest.approx(np.mean(values))
    sem = stats.sem(values)
    if sem == 0:
        assert lo == hi == mean
        return
    ref_lo, ref_hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=sem)
    assert lo == pytest.approx(ref_lo, rel=1e-6, abs=1e-9)
    assert hi == pytest.approx(ref_hi, rel=1e-6, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=300))
def test_pass_fail_means_get_the_wilson_interval(values: list[float]) -> None:
    mean, lo, hi = mean_ci(values)
    ref = stats.binomtest(int(sum(values)), len(values)).proportion_ci(0.95, method="wilson")
    assert mean == pytest.approx(np.mean(values))
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)
    assert lo is not None and hi is not None and 0.0 <= lo <= mean <= hi <= 1.0


def test_small_pass_rates_stay_inside_zero_one() -> None:
    _, lo, hi = mean_ci([1.0, 1.0, 0.0])
    assert lo is not None and hi is not None and 0.0 < lo < hi < 1.0


def test_score_means_stay_inside_zero_one() -> None:
    """Scores in [0, 1] that are not all 0 or 1 get the t interval, cut to [0, 1]."""
    mean, lo, hi = mean_ci([1.0, 1.0, 1.0, 1.0, 1.0, 0.5])  # t: [0.702, 1.131]
    assert mean == pytest.approx(0.9167, abs=1e-4) and hi == 1.0
    assert lo == pytest.approx(0.7024, abs=1e-4)
    _, lo, hi = mean_ci([0.0, 0.0, 0.0, 0.5])  # t: [-0.273, 0.523]
    assert lo == 0.0 and hi == pytest.approx(0.5228, abs=1e-4)
    inside = [0.3, 0.4, 0.5, 0.6, 0.4, 0.5]  # inside already: the t interval as it is
    _, lo, hi = mean_ci(inside)
    ref = stats.t.interval(0.95, 5, loc=np.mean(inside), scale=stats.sem(inside))
    assert (lo, hi) == pytest.approx(ref)
    # Values outside [0, 1] are no score: not cut; nor is a difference.
    _, lo, hi = mean_ci([0.5, 1.0, 2.0])
    assert lo is not None and hi is not None and lo < 0.0 and hi > 2.0
    _, lo, hi = mean_ci([1.0, 1.0, 1.0, 1.0, 1.0, 0.5], proportion=False)
    assert hi == pytest.approx(1.1309, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=200))
def test_a_score_interval_is_the_t_interval_within_zero_one(values: list[float]) -> None:
    mean, lo, hi = mean_ci(values)
    t_mean, t_lo, t_hi = mean_ci(values, proportion=False)
    assert lo is not None and hi is not None and t_lo is not None and t_hi is not None
    assert 0.0 <= lo <= hi <= 1.0 and mean == t_mean
    if not all(v in (0.0, 1.0) for v in values):  # (pass/fail: Wilson's, checked above)
        assert lo == max(t_lo, 0.0) and hi == min(t_hi, 1.0)


def _fact(
    status: str,
    score: float | None,
    section: str | None = None,
    *,
    cached: bool = False,
    latency: float | None = 10.0,
    cost: float | None = 0.5,
    error_type: str | None = None,
) -> ResultFact:
    return ResultFact(
        case_id=f"c-{status}-{section}",
        epoch=0,
        error_type=error_type if status == "error" else None,
        error_message="it broke" if status == "error" else None,
        status=status,
        score=score,
        section=section,
        latency_ms=latency,
        cached=cached,
        input_tokens=3,
        output_tokens=2,
        cost_usd=cost,
    )


def test_summary_conventions() -> None:
    facts = [
        _fact("passed", 1.0, "a", latency=10),
        _fact("failed", 0.5, "a", latency=30),
        _fact("error", None, "b", latency=None),
        _fact("passed", 1.0, "b", cached=True, latency=0.0),
    ]
    scores = [
        ScoreFact(name="equals", score=1.0, passed=True, higher_is_better=True),
        ScoreFact(name="equals", score=None, passed=False, higher_is_better=True),
    ]
    s = summarize(facts, scores)
    assert (
        s.counts.total,
        s.counts.passed,
        s.counts.failed,
        s.counts.errored,
        s.counts.cached,
    ) == (4, 2, 1, 1, 1)
    # One rule for every mean: the errored case is in none of them, and counted apart.
    assert s.score == pytest.approx((1 + 0.5 + 1) / 3) and s.scored == 3
    assert s.pass_rate == pytest.approx(2 / 3)
    assert s.error_rate == 25.0
    assert s.errors_by_kind == {"call": 1}
    assert s.errors == [
        {"case_id": "c-error-b", "epoch": 0, "kind": "call", "type": None, "message": "it broke"}
    ]
    assert s.latency["p50"] == pytest.approx(20.0)  # the cached and the errored are left out
    assert s.sections == {"a": 0.75, "b": 1.0}
    assert s.scorers == {"equals": 1.0}  # unscored records are not zeros
    assert s.input_tokens == 9 and s.cost == pytest.approx(1.5)  # cached answers cost nothing


def test_unknown_price_makes_the_cost_unknown() -> None:
    s = summarize([_fact("passed", 1.0), _fact("passed", 1.0, cost=None)], [])
    assert s.cost is None
