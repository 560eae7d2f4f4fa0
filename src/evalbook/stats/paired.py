"""Paired statistics for two runs of the same cases.

Why paired: both runs answer the same cases, so case difficulty cancels out in the
per-case difference. An unpaired test would throw that away and call real regressions
noise. The test follows the measurement:

- pass/fail (values all 0 or 1): exact McNemar — the two-sided binomial test on the
  discordant pairs (cases that flipped), which is all a paired binary comparison knows;
  effect size Cohen's *g* (share of flips that are fixes, minus ½).
- numeric scores: Wilcoxon signed-rank on the per-case differences (zero differences
  dropped, scipy's default), or a paired bootstrap with a fixed seed; effect size
  Cohen's *d_z* (mean difference over the standard deviation of differences).

The difference CI is the Student-t interval of the per-case differences (the paired-t
interval), or the bootstrap's percentile interval when the bootstrap is chosen. scipy is
imported on first use, so commands that never compare do not pay for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from evalbook.stats.intervals import mean_ci

__all__ = [
    "PairedStat",
    "PairedTest",
    "bootstrap_test",
    "is_binary",
    "mcnemar_exact",
    "paired_stat",
    "wilcoxon_test",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_SEED = 20240601
#: Per-case differences are rounded to this many decimals before any test. Why: scores
#: are decimals that binary floats hold inexactly, so differences equal in exact
#: arithmetic (0.88 − 0.80 and 0.90 − 0.82) come out a few ulps apart, and a rank test
#: would rank them apart instead of tying them — inventing a significant difference.
DIFF_DECIMALS = 12
DEFAULT_RESAMPLES = 2000


class PairedTest(StrEnum):
    mcnemar = "mcnemar"
    wilcoxon = "wilcoxon"
    bootstrap = "bootstrap"
    none = "none"  # fewer than one pair: nothing to test


@dataclass(frozen=True)
class PairedStat:
    """Baseline vs candidate over ``n`` paired values; ``difference`` = candidate − baseline."""

    n: int
    baseline: float | None
    baseline_ci: tuple[float | None, float | None]
    candidate: float | None
    candidate_ci: tuple[float | None, float | None]
    difference: float | None
    difference_ci: tuple[float | None, float | None]
    p_value: float | None
    test: PairedTest
    effect_size: float | None
    effect_measure: str


def is_binary(*arrays: FloatArray) -> bool:
    return all(bool(np.all((a == 0) | (a == 1))) for a in arrays)


def mcnemar_exact(baseline: FloatArray, candidate: FloatArray) -> tuple[float, float | None]:
    """Exact McNemar p-value and Cohen's g for paired 0/1 outcomes.

    ``p = 1`` when no case flipped (the runs agree everywhere)."""
    from scipy.stats import binomtest

    fixes = int(np.count_nonzero((baseline == 0) & (candidate == 1)))
    regressions = int(np.count_nonzero((baseline == 1) & (candidate == 0)))
    flips = fixes + regressions
    if flips == 0:
        return 1.0, 0.0
    p = float(binomtest(min(fixes, regressions), flips, 0.5).pvalue)
    return min(p, 1.0), fixes / flips - 0.5


def wilcoxon_test(differences: FloatArray) -> float:
    """Two-sided Wilcoxon signed-rank p-value (zero differences dropped, scipy's default);
    ``1`` when every difference is zero. Round the differences first (``DIFF_DECIMALS``).

    scipy settles small tied samples (≤ 13 non-zero differences) with an exhaustive
    sign-flip permutation test that calls its statistic once per permutation — seconds
    per metric. The same test is computed here in one matrix product (tested equal)."""
    from scipy.stats import rankdata, wilcoxon

    nonzero = differences[differences != 0]
    if nonzero.size == 0:
        return 1.0
    magnitude = np.abs(nonzero)
    if nonzero.size <= _EXHAUSTIVE_MAX and np.unique(magnitude).size < nonzero.size:
        return _sign_flip_p(nonzero > 0, rankdata(magnitude))
    return float(wilcoxon(nonzero, zero_method="wilcox").pvalue)


_EXHAUSTIVE_MAX = 13  # scipy's bound for the exhaustive test on tied samples


def _sign_flip_p(positive: npt.NDArray[np.bool_], ranks: FloatArray) -> float:
    """Exact two-sided p of the signed-rank sum ``W+`` over all 2^n sign assignments
    (scipy's ``permutation_test`` rule: twice the smaller tail, with its tolerance)."""
    n = ranks.size
    patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    null = patterns @ ranks
    observed = float(ranks[positive].sum())
    tol = max(1e-14, abs(observed) * 1e-14)
    less = np.count_nonzero(null <= observed + tol) / null.size
    greater = np.count_nonzero(null >= observed - tol) / null.size
    return float(min(1.0, 2 * min(less, greater)))


def bootstrap_test(
    baseline: FloatArray,
    candidate: FloatArray,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, tuple[float, float]]:
    """Paired bootstrap of the mean difference (scipy, percentile interval, fixed seed).

    The p-value is two-sided from the bootstrap distribution shifted to the null (mean 0):
    the share of resampled means at least as far from the observed mean as the observed
    mean is from 0, with the +1 correction so it is never exactly 0."""
    from scipy.stats import bootstrap

    diff = np.round(candidate - baseline, DIFF_DECIMALS)
    observed = float(diff.mean())
    if np.all(diff == diff[0]):  # every resample is the same: the smallest p it can give
        return (1.0 if observed == 0 else 1 / (resamples + 1)), (observed, observed)
    res = bootstrap(
        (diff,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
        vectorized=True,
        batch=min(resamples, max(1, 20_000_000 // max(diff.size, 1))),
    )
    dist = np.asarray(res.bootstrap_distribution)
    extreme = np.count_nonzero(np.abs(dist - observed) >= abs(observed) - 1e-15)
    p = (1 + int(extreme)) / (resamples + 1)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return min(p, 1.0), (low, high)


def paired_stat(
    baseline: FloatArray,
    candidate: FloatArray,
    *,
    confidence: float = 0.95,
    numeric_test: PairedTest = PairedTest.wilcoxon,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
) -> PairedStat:
    """Compare paired values (same length, no NaN) with the test their kind calls for."""
    n = int(baseline.size)
    if n == 0:
        return PairedStat(
            0, None, (None, None), None, (None, None), None, (None, None), None,
            PairedTest.none, None, "",
        )  # fmt: skip
    mean_a, lo_a, hi_a = _known(mean_ci(baseline, confidence))
    mean_b, lo_b, hi_b = _known(mean_ci(candidate, confidence))
    diff = np.round(candidate - baseline, DIFF_DECIMALS)
    d_mean, d_lo, d_hi = _known(mean_ci(diff, confidence, proportion=False))
    if is_binary(baseline, candidate):
        p, effect = mcnemar_exact(baseline, candidate)
        test, measure = PairedTest.mcnemar, "cohen_g"
    else:
        test, measure = numeric_test, "cohen_dz"
        effect = _cohen_dz(diff)
        if numeric_test is PairedTest.bootstrap:
            p, (d_lo, d_hi) = bootstrap_test(
                baseline, candidate, confidence=confidence, resamples=resamples, seed=seed
            )
        else:
            test = PairedTest.wilcoxon
            p = wilcoxon_test(diff)
    return PairedStat(
        n=n,
        baseline=mean_a,
        baseline_ci=(lo_a, hi_a),
        candidate=mean_b,
        candidate_ci=(lo_b, hi_b),
        difference=_clean(d_mean),
        difference_ci=(_clean(d_lo), _clean(d_hi)),
        p_value=p,
        test=test,
        effect_size=effect,
        effect_measure=measure,
    )


def _known(
    ci: tuple[float | None, float | None, float | None],
) -> tuple[float, float | None, float | None]:
    """``paired_stat`` never takes the interval of an empty array: its mean is known."""
    mean, lo, hi = ci
    assert mean is not None
    return mean, lo, hi


def _clean(value: float | None) -> float | None:
    """A mean of rounded differences, rid of float dust (and of ``-0.0``)."""
    return None if value is None else round(value, DIFF_DECIMALS) + 0.0


def _cohen_dz(diff: FloatArray) -> float | None:
    """Mean difference in standard deviations of the differences; 0 when nothing
    changed, ``None`` when every case moved by the same amount (no spread to scale by)."""
    if diff.size < 2:
        return None
    sd = float(diff.std(ddof=1))
    mean = float(diff.mean())
    if sd <= 1e-12 * max(1.0, abs(mean)) or not math.isfinite(sd):  # float dust is no spread
        return 0.0 if mean == 0 else None
    return mean / sd
