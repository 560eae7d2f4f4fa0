"""The paired statistics, property-tested against scipy; identical runs differ by nothing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from evalbook.stats.paired import (
    PairedTest,
    bootstrap_test,
    mcnemar_exact,
    paired_stat,
    wilcoxon_test,
)

scores = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 3))
# ≥ 14 pairs: smaller tied samples are checked against scipy in their own test (scipy
# takes seconds on each of them).
pairs = st.lists(st.tuples(scores, scores), min_size=14, max_size=80)
bits = st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=200)


def _arrays(data: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([x for x, _ in data], dtype=float)
    b = np.array([y for _, y in data], dtype=float)
    return a, b


@settings(max_examples=40, deadline=None)
@given(pairs)
def test_numeric_matches_scipy(data: list[tuple[float, float]]) -> None:
    a, b = _arrays(data)
    assume(not (set(a) | set(b)) <= {0.0, 1.0})  # binary values go to McNemar
    s = paired_stat(a, b)
    d = np.round(b - a, 12)
    assert s.test is PairedTest.wilcoxon
    assert s.baseline == pytest.approx(a.mean()) and s.candidate == pytest.approx(b.mean())
    assert s.difference == pytest.approx(d.mean(), abs=1e-12)
    if np.any(d != 0):
        assert s.p_value == pytest.approx(stats.wilcoxon(d[d != 0]).pvalue)
    else:
        assert s.p_value == 1.0
    if d.std(ddof=1) > 1e-9:
        ci = stats.ttest_rel(b, a).confidence_interval(0.95)
        assert s.difference_ci[0] == pytest.approx(ci.low, abs=1e-9)
        assert s.difference_ci[1] == pytest.approx(ci.high, abs=1e-9)
        assert s.effect_size == pytest.approx(d.mean() / d.std(ddof=1))


@settings(max_examples=80, deadline=None)
@given(bits)
def test_binary_is_exact_mcnemar(data: list[tuple[bool, bool]]) -> None:
    a = np.array([x for x, _ in data], dtype=float)
    b = np.array([y for _, y in data], dtype=float)
    s = paired_stat(a, b)
    assert s.test is PairedTest.mcnemar
    fixes = int(np.sum((a == 0) & (b == 1)))
    regressions = int(np.sum((a == 1) & (b == 0)))
    if fixes + regressions == 0:
        assert s.p_value == 1.0 and s.effect_size == 0.0
    else:
        expected = stats.binomtest(min(fixes, regressions), fixes + regressions).pvalue
        assert s.p_value == pytest.approx(min(expected, 1.0))
        assert s.effect_size == pytest.approx(fixes / (fixes + regressions) - 0.5)
    assert s.difference == pytest.approx((fixes - regressions) / len(data), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(scores, min_size=1, max_size=60), st.sampled_from(list(PairedTest)[:3]))
def test_identical_runs_differ_by_nothing(values: list[float], test: PairedTest) -> None:
    a = np.array(values, dtype=float)
    s = paired_stat(a, a.copy(), numeric_test=test)
    assert s.difference == 0.0 and s.p_value == 1.0
    assert s.baseline == s.candidate
    if s.difference_ci[0] is not None:
        assert s.difference_ci == (0.0, 0.0)


def test_float_dust_does_not_invent_significance() -> None:
    # 0.88 − 0.80 and 0.82 − 0.90 are ±0.08 exactly, but a few ulps apart as floats.
    a = np.array([0.80, 0.90] * 30)
    b = np.array([0.88, 0.82] * 30)
    s = paired_stat(a, b)
    assert s.p_value == pytest.approx(1.0) and s.difference == 0.0


@pytest.mark.parametrize(
    "d",
    [
        [0.1, 0.1, -0.1],
        [0.2, -0.1, 0.1, 0.3, 0.3, -0.2, 0.1],
        [0.5, 0.5, 0.5, 0.5],
        [-0.3, 0.1, 0.1, -0.1, 0.2, 0.2, 0.2, -0.2, 0.4],
        [0.25],
    ],
)
def test_small_tied_samples_match_scipy(d: list[float]) -> None:
    diffs = np.array(d)
    assert wilcoxon_test(diffs) == pytest.approx(stats.wilcoxon(diffs).pvalue)


def test_mcnemar_and_wilcoxon_edge_cases() -> None:
    assert mcnemar_exact(np.array([1.0, 1.0]), np.array([0.0, 0.0]))[0] == pytest.approx(0.5)
    assert wilcoxon_test(np.zeros(5)) == 1.0
    empty = paired_stat(np.zeros(0), np.zeros(0))
    assert empty.n == 0 and empty.p_value is None and empty.test is PairedTest.none


def test_bootstrap_is_seeded_and_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(0.4, 0.9, 200)
    b = np.clip(a + rng.normal(-0.03, 0.05, 200), 0, 1)
    p1, ci1 = bootstrap_test(a, b, seed=11)
    p2, ci2 = bootstrap_test(a, b, seed=11)
    assert (p1, ci1) == (p2, ci2)  # a fixed seed gives the same answer every time
    ref = stats.bootstrap(
        (np.round(b - a, 12),),
        np.mean,
        n_resamples=2000,
        method="percentile",
        rng=np.random.default_rng(11),
        vectorized=True,
    ).confidence_interval
    assert ci1 == pytest.approx((ref.low, ref.high), abs=1e-3)
    assert ci1[0] < (b - a).mean() < ci1[1]
    assert p1 < 0.01  # a clear shift
    s = paired_stat(a, b, numeric_test=PairedTest.bootstrap, seed=11)
    assert s.test is PairedTest.bootstrap and s.difference_ci == pytest.approx(ci1)
