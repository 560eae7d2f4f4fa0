"""The metrics a run recorded, under the keys comparisons use.

Trends and noise estimates read many runs; they use the aggregates stored when each run
finished (one small query per run) rather than re-reading results. The keys match
:class:`~evalbook.analysis.compare.comparison.MetricComparison`: ``score``, ``pass_rate``, a
scorer's name, ``section:NAME``; plus run-level ``error_rate``, ``cost`` and ``latency_p50`` …
"""

from __future__ import annotations

from dataclasses import dataclass

from evalbook.storage.store import Store

__all__ = ["RecordedMetric", "recorded_metrics"]


@dataclass(frozen=True)
class RecordedMetric:
    key: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    higher_is_better: bool


def _key(scope: str, name: str) -> str:
    if scope == "scorer":
        return name
    if scope == "section":
        return f"section:{name}"
    if scope == "latency_ms":
        return f"latency_{name}"
    return "cost" if name == "cost_usd" else name


def recorded_metrics(store: Store, run_id: str) -> dict[str, RecordedMetric]:
    """``key → metric`` as stored when the run finished (empty for an unfinished run)."""
    out = {}
    for row in store.get_metrics(run_id):
        key = _key(row["scope"], row["name"])
        out[key] = RecordedMetric(
            key=key,
            value=row["value"],
            n=row["n"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            higher_is_better=bool(row["higher_is_better"]),
        )
    return out
