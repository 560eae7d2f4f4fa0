"""Run aggregates: the numbers the run record carries and the metrics table keeps.

Conventions (stated once, used everywhere):
- the run score is the mean case score, an errored case counting 0 (an outage must not
  raise a score);
- latency percentiles leave cached results out (a cache hit is not a model latency);
- tokens and cost count what this run consumed (cached answers cost nothing again); cost is
  unknown (``None``) as soon as one call had an unknown price — never a silent 0;
- every metric declares ``higher_is_better``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evalbook.core.run import RunCounts


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

    def as_metrics(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "pass_rate": self.pass_rate,
            "latency_ms": self.latency,
            "sections": self.sections,
            "scorers": self.scorers,
        }


def mean_ci(
    values: list[float], confidence: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """Mean with a Student-t confidence interval (``None`` bounds when n < 2)."""
    if not values:
        return None, None, None
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, None, None
    from scipy import stats

    sem = float(arr.std(ddof=1)) / math.sqrt(arr.size)
    if sem == 0:
        return mean, mean, mean
    half = float(stats.t.ppf((1 + confidence) / 2, arr.size - 1)) * sem
    return mean, mean - half, mean + half


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def summarize(result_facts: Iterable[Any], score_facts: Iterable[Any]) -> Summary:
    counts = RunCounts()
    case_scores: list[float] = []
    sections: dict[str, list[float]] = defaultdict(list)
    latencies: list[float] = []
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
        value = 0.0 if r.status == "error" or r.score is None else float(r.score)
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
    pass_rate = add("run", "pass_rate", [1.0] * counts.passed + [0.0] * (total - counts.passed))
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
    )
