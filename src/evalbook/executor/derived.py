"""Derived metrics of a run: arithmetic over its named scores (``derived_metrics:``).

promptfoo's ``derivedMetrics`` are computed per prompt × provider from the named
metrics' sums, so evalbook does the same per run: each scorer name's value is the sum,
over the run's results, of that result's score for the name (the weighted mean of its
scorers of that name, as a promptfoo test's named score is); ``__count`` is the number
of results; metrics are computed in order, so a later one may use an earlier one. A
name no result scored counts 0, as in promptfoo; a division by zero gives no value
(``None``), never a number that was not measured.

The metrics travel with the run (``RunOptions.derived_metrics``), since the suite's
stored definition leaves them out of its hash; ``executor/finish.py`` computes them
wherever a run ends completed (a CLI run, a server's or a fleet's, a resume, a re-score).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evalbook.core.result import Result, ScoreRecord
from evalbook.core.suite import DerivedMetric
from evalbook.stats.expression import evaluate, parse_expression

__all__ = ["derived_metrics", "named_sums"]


def named_sums(results: Iterable[Result]) -> dict[str, float]:
    """Each scorer name → the sum of the results' scores of that name; ``__count``: the
    number of results."""
    sums: dict[str, float] = {}
    count = 0
    for result in results:
        count += 1
        by_name: dict[str, list[tuple[float, float]]] = {}
        for score in result.scores:
            if score.score is not None:
                by_name.setdefault(score.name, []).append((score.score, score.weight))
            for name, value, weight in _inner_scores(score):
                by_name.setdefault(name, []).append((value, weight))
        for name, pairs in by_name.items():
            total = sum(w for _, w in pairs)
            value = (
                sum(s * w for s, w in pairs) / total
                if total > 0
                else sum(s for s, _ in pairs) / len(pairs)
            )
            sums[name] = sums.get(name, 0.0) + value
    sums["__count"] = float(count)
    return sums


def _inner_scores(record: ScoreRecord) -> list[tuple[str, float, float]]:
    """The named scores inside an ``assert-set`` record (promptfoo counts the metric of an
    assertion in a thresholded test or set like any other)."""
    if record.type != "assert-set" or not record.evidence.details:
        return []
    inner = record.evidence.details.get("scores")
    if not isinstance(inner, list):
        return []
    return [
        (str(s["name"]), float(s["score"]), float(s.get("weight", 1.0)))
        for s in inner
        if isinstance(s, dict) and s.get("score") is not None and s.get("name")
    ]


def derived_metrics(
    metrics: Sequence[DerivedMetric], results: Iterable[Result]
) -> dict[str, float | None]:
    """Every derived metric's value, in order (the sums from :func:`named_sums`)."""
    values: dict[str, float] = named_sums(results)
    out: dict[str, float | None] = {}
    for metric in metrics:
        value = evaluate(parse_expression(metric.expression), values)
        out[metric.name] = value
        if value is not None:
            values[metric.name] = value
        else:
            values.pop(metric.name, None)
    return out
