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

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def percentile(values: list[float], q: float) -> float | None:
    import numpy as np  # at the end of a run, not before its first request

    return float(np.percentile(np.asarray(values), q)) if values else None


def summarize(
    result_facts: Iterable[Sequence[Any]], score_facts: Iterable[Sequence[Any]]
) -> Summary:
    """The summary of a run's results and scores: rows with the columns of
    :class:`~evalbook.storage.facts.ResultFact` and ``ScoreFact``, in their order (the
    facts themselves, or the cursor's plain rows: ``storage.facts.fact_rows``)."""
    # numpy and the intervals are loaded when a run ends, not before its first request.
    import numpy as np

    from evalbook.stats.intervals import mean_ci

    # Counted in locals, the counts model made at the end: an increment of a model's field
    # goes through pydantic's __setattr__ (a fifth of the summary of 100,000 results).
    total = passed = failed = errored = cached = 0
    case_scores: list[float] = []
    sections: dict[str, list[float]] = defaultdict(list)
    latencies: list[float] = []
    by_kind: dict[str, int] = defaultdict(int)
    listed: list[dict[str, Any]] = []
    input_tokens = output_tokens = 0
    cost: float | None = 0.0
    # Unpacked in ``ResultFact``'s column order (plain rows: no record per row).
    for (
        case_id, epoch, error_type, error_message, status, score, section, latency_ms,
        is_cached, in_tokens, out_tokens, cost_usd,
    ) in result_facts:  # fmt: skip
        total += 1
        if status == "passed":
            passed += 1
        elif status == "failed":
            failed += 1
        else:
            errored += 1
            kind = error_kind(error_type)
            by_kind[kind] += 1
            if len(listed) < LISTED_ERRORS:
                listed.append(
                    {
                        "case_id": case_id,
                        "epoch": epoch,
                        "kind": kind,
                        "type": error_type,
                        "message": (error_message or "")[:300],
                    }
                )
        if status != "error" and score is not None:
            value = float(score)
            case_scores.append(value)
            if section:
                sections[section].append(value)
        if is_cached:
            cached += 1
            continue
        if latency_ms is not None and status != "error":
            latencies.append(float(latency_ms))
        input_tokens += in_tokens or 0
        output_tokens += out_tokens or 0
        if in_tokens is not None or out_tokens is not None:
            cost = None if cost is None or cost_usd is None else cost + cost_usd

    scorer_values: dict[str, list[float]] = defaultdict(list)
    scorer_hib: dict[str, bool] = {}
    for name, value, _, higher_is_better in score_facts:  # ``ScoreFact``'s order
        if value is not None:
            scorer_values[name].append(float(value))
        scorer_hib[name] = bool(higher_is_better)

    counts = RunCounts(total=total, passed=passed, failed=failed, errored=errored, cached=cached)
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
