"""Run aggregates: the numbers the run record carries and the metrics table keeps.

Conventions (stated once, used everywhere):
- one rule for every mean (the run's score, pass rate, sections, scorers): it is taken
  over the cases that were scored; an errored case (the call failed, the prompt did not
  render, or a scorer could not score the output) is in none of them. Errors are counted
  beside every score instead (``errored``, by kind, with the cases and why), and a run
  whose error rate is over its limit does not pass (``executor/finish.py``): an outage
  cannot raise a score, and a score never mixes in a made-up 0;
- latency percentiles leave cached results out (a cache hit is not a model latency);
- tokens and cost count what this run consumed (cached answers cost nothing again); cost is
  unknown (``None``) as soon as one call had an unknown price — never a silent 0;
- every metric declares ``higher_is_better``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from evalbook.core.run import RunCounts

#: How many errored cases a summary lists by name (the counts are always complete).
LISTED_ERRORS = 20


def error_kind(error_type: str | None) -> str:
    """``render`` (the suite's template), ``scorer`` (the measurement) or ``call`` (the
    model call: connection, timeout, rate limit, refusal...)."""
    if error_type == "TemplateError":
        return "render"
    if error_type == "ScorerError":
        return "scorer"
    return "call"


@dataclass
class Summary:
    counts: RunCounts
    score: float | None
    pass_rate: float | None
    error_rate: float | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency: dict[str, float | None]
    sections: dict[str, float]
    scorers: dict[str, float]
    metric_rows: list[dict[str, Any]] = field(default_factory=list)
    #: Cases in the means, and errored cases by kind (``render``, ``scorer``, ``call``).
    scored: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    #: The first errored cases: ``{case_id, epoch, kind, type, message}``.
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_metrics(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "scored": self.scored,
            "errored": self.counts.errored,
            "errors_by_kind": self.errors_by_kind,
            "errors": self.errors,
            "pass_rate": self.pass_rate,
            "latency_ms": self.latency,
            "sections": self.sections,
            "scorers": self.scorers,
        }


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
    zero-width one. ``proportion=False`` forces the t interval (for differences, which
    are not proportions even when they happen to be all 0 or 1).
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
    return mean, mean - half, mean + half


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


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def summarize(result_facts: Iterable[Any], score_facts: Iterable[Any]) -> Summary:
    counts = RunCounts()
    case_scores: list[float] = []
    sections: dict[str, list[float]] = defaultdict(list)
    latencies: list[float] = []
    by_kind: dict[str, int] = defaultdict(int)
    listed: list[dict[str, Any]] = []
    input_tokens = output_tokens = 0
    cost: float | None = 0.0
    for r in result_facts:
        counts.total += 1
        if r.status == "passed":
            counts.passed += 1
        elif r.status == "failed":
            counts.failed += 1
        else:
            counts.errored += 1
            kind = error_kind(r.error_type)
            by_kind[kind] += 1
            if len(listed) < LISTED_ERRORS:
                listed.append(
                    {
                        "case_id": r.case_id,
                        "epoch": r.epoch,
                        "kind": kind,
                        "type": r.error_type,
                        "message": (r.error_message or "")[:300],
                    }
                )
        if r.status != "error" and r.score is not None:
            value = float(r.score)
            case_scores.append(value)
            if r.section:
                sections[r.section].append(value)
        if r.cached:
            counts.cached += 1
            continue
        if r.latency_ms is not None and r.status != "error":
            latencies.append(float(r.latency_ms))
        input_tokens += r.input_tokens or 0
        output_tokens += r.output_tokens or 0
        if r.input_tokens is not None or r.output_tokens is not None:
            cost = None if cost is None or r.cost_usd is None else cost + r.cost_usd

    scorer_values: dict[str, list[float]] = defaultdict(list)
    scorer_hib: dict[str, bool] = {}
    for s in score_facts:
        if s.score is not None:
            scorer_values[s.name].append(float(s.score))
        scorer_hib[s.name] = bool(s.higher_is_better)

    total = counts.total
    rows: list[dict[str, Any]] = []

    def add(scope: str, name: str, values: list[float], hib: bool = True) -> float | None:
        mean, lo, hi = mean_ci(values)
        rows.append(
            {
                "scope": scope,
                "name": name,
                "value": mean,
                "n": len(values),
                "ci_low": lo,
                "ci_high": hi,
                "higher_is_better": hib,
            }
        )
        return mean

    score = add("run", "score", case_scores)
    pass_rate = add("run", "pass_rate", [1.0] * counts.passed + [0.0] * counts.failed)
    error_rate = 100.0 * counts.errored / total if total else None
    rows.append(
        {
            "scope": "run",
            "name": "error_rate",
            "value": error_rate,
            "n": total,
            "ci_low": None,
            "ci_high": None,
            "higher_is_better": False,
        }
    )
    latency: dict[str, float | None] = {f"p{q}": percentile(latencies, q) for q in (50, 90, 95, 99)}
    latency["mean"] = float(np.mean(latencies)) if latencies else None
    for name, stat in latency.items():
        rows.append(
            {
                "scope": "latency_ms",
                "name": name,
                "value": stat,
                "n": len(latencies),
                "ci_low": None,
                "ci_high": None,
                "higher_is_better": False,
            }
        )
    section_means = {k: add("section", k, v) for k, v in sorted(sections.items())}
    scorer_means = {k: add("scorer", k, v, scorer_hib[k]) for k, v in sorted(scorer_values.items())}
    if cost is not None:
        rows.append(
            {
                "scope": "run",
                "name": "cost_usd",
                "value": cost,
                "n": total,
                "ci_low": None,
                "ci_high": None,
                "higher_is_better": False,
            }
        )
    return Summary(
        counts=counts,
        score=score,
        pass_rate=pass_rate,
        error_rate=error_rate,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=cost,
        latency=latency,
        sections={k: v for k, v in section_means.items() if v is not None},
        scorers={k: v for k, v in scorer_means.items() if v is not None},
        metric_rows=rows,
        scored=len(case_scores),
        errors_by_kind=dict(by_kind),
        errors=listed,
    )
