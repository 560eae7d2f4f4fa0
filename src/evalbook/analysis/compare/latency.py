"""Latency distributions and consumption of a run, side by side with another.

Both runs' histograms share one set of bin edges, or the bars could not be compared.
Cached and errored cases have no model latency and are left out (see ``facts.py``).
"""

from __future__ import annotations

import numpy as np

from evalbook.analysis.compare.comparison import LatencySummary, UsageSummary
from evalbook.analysis.compare.facts import FloatArray, RunFacts

__all__ = ["latency_summary", "shared_edges", "usage_summary"]

DEFAULT_BINS = 20


def shared_edges(*latencies: FloatArray, bins: int = DEFAULT_BINS) -> list[float]:
    """``bins + 1`` edges spanning every finite latency of every run (empty when none)."""
    finite = [a[np.isfinite(a)] for a in latencies]
    finite = [a for a in finite if a.size]
    if not finite:
        return []
    low = min(float(a.min()) for a in finite)
    high = max(float(a.max()) for a in finite)
    if high <= low:
        high = low + 1.0
    return [float(e) for e in np.linspace(low, high, bins + 1)]


def latency_summary(latency: FloatArray, edges: list[float]) -> LatencySummary:
    values = latency[np.isfinite(latency)]
    if values.size == 0:
        return LatencySummary(n=0, p50=None, p90=None, p99=None, mean=None, histogram=[])
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    counts = np.histogram(values, bins=np.asarray(edges))[0] if edges else np.zeros(0)
    return LatencySummary(
        n=int(values.size),
        p50=p50,
        p90=p90,
        p99=p99,
        mean=float(values.mean()),
        histogram=[int(c) for c in counts],
    )


def usage_summary(facts: RunFacts) -> UsageSummary:
    u = facts.usage
    total = int(u["total"])
    return UsageSummary(
        total=total,
        passed=int(u["passed"]),
        failed=int(u["failed"]),
        errored=int(u["errored"]),
        cached=int(u["cached"]),
        error_rate=100.0 * int(u["errored"]) / total if total else None,
        input_tokens=int(u["input_tokens"]),
        output_tokens=int(u["output_tokens"]),
        cost=u["cost"],
    )
