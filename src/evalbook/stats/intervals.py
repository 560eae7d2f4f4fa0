"""Confidence intervals: the one ``mean_ci`` and the one Wilson interval, used by run
aggregates, comparisons, pairwise summaries and judge reports alike (pure; no scipy)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = ["mean_ci", "t_critical", "wilson_interval"]


def t_critical(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t critical value, without importing scipy (about 0.7 s, paid at the
    end of every run). Up to 60 degrees of freedom it inverts the exact closed form of the
    t distribution for integer df by bisection; beyond, a Cornish-Fisher expansion
    (relative error under 1e-6 there). Tested against scipy."""
    if df <= 60:
        lo, hi = 0.0, 1e6
        for _ in range(200):
            mid = (lo + hi) / 2
            if _t_central_mass(mid, df) < confidence:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    v = float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def _t_central_mass(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3/26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        if df == 1:
            return 2 * theta / math.pi
        term, total = 1.0, 1.0
        for k in range(2, df - 1, 2):  # 1 + 2/3 c² + 2·4/(3·5) c⁴ + …
            term *= c2 * k / (k + 1)
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    term, total = 1.0, 1.0
    for k in range(1, df - 2, 2):  # 1 + 1/2 c² + 1·3/(2·4) c⁴ + …
        term *= c2 * k / (k + 1)
        total += term
    return math.sin(theta) * total


def mean_ci(
    values: Sequence[float] | np.ndarray[Any, Any],
    confidence: float = 0.95,
    *,
    proportion: bool = True,
) -> tuple[float | None, float | None, float | None]:
    """Mean with its confidence interval (``None`` bounds when n < 2).

    Pass/fail values (all 0 or 1) get the Wilson score interval: it stays inside [0, 1]
    and keeps its coverage at small n, where a t interval on 3 cases can read
    "0.67 [-0.77, 2.10]". Other values get the Student-t interval; identical values a
    zero-width one. Scores (values all inside [0, 1], the range every score is on) get
    it cut to [0, 1]: a mean score of 0.917 over six cases read "[0.702, 1.131]", a
    bound no run can reach; the cut keeps the coverage (only impossible means are left
    out). ``proportion=False`` forces the plain t interval (for differences, which are
    not proportions even when they happen to be all 0 or 1).
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return None, None, None
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, None, None
    if proportion and np.all((arr == 0) | (arr == 1)):
        lo, hi = wilson_interval(int(arr.sum()), int(arr.size), confidence)
        return mean, lo, hi
    sem = float(arr.std(ddof=1)) / math.sqrt(arr.size)
    if sem == 0:
        return mean, mean, mean
    half = t_critical(arr.size - 1, confidence) * sem
    low, high = mean - half, mean + half
    if proportion and float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0:
        low, high = max(low, 0.0), min(high, 1.0)
    return mean, low, high


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927). ``successes`` may be
    fractional (a pairwise tie counts half a win)."""
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; the float arithmetic leaves ~1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
