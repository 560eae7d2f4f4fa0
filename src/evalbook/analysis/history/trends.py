"""A suite's history: one metric over its runs, oldest first, and a sparkline of it.

Why from recorded aggregates: a trend over fifty runs of 100k cases must not re-read
five million results; every finished run stored its metrics. The same :func:`trend`
feeds the terminal (``evalbook trend``), the HTML report and, later, the web UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from evalbook.analysis.compare.run_metrics import recorded_metrics
from evalbook.errors import UserError
from evalbook.storage.store import Store

__all__ = ["Trend", "TrendPoint", "sparkline", "trend"]

_BARS = "▁▂▃▄▅▆▇█"


class TrendPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    created_at: datetime
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    model: str
    prompt: str
    alias: str | None
    label: str | None


class Trend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite_id: str
    metric: str
    alias: str | None
    higher_is_better: bool
    points: list[TrendPoint]

    @property
    def values(self) -> list[float | None]:
        return [p.value for p in self.points]


def trend(
    store: Store,
    suite_id: str,
    *,
    metric: str = "score",
    alias: str | None = None,
    prompt_name: str | None = None,
    limit: int = 50,
) -> Trend:
    """The last ``limit`` completed runs of a suite (optionally of one alias and prompt),
    oldest first, with ``metric`` (a comparison key: ``score``, ``pass_rate``, a scorer,
    ``section:NAME``, ``error_rate``, ``cost``, ``latency_p50`` …) of each."""
    runs = store.list_runs(suite_id=suite_id, status="completed", alias=alias, limit=limit * 4)
    if prompt_name:
        runs = [r for r in runs if r.prompt_name == prompt_name]
    runs = list(reversed(runs[:limit]))
    points = []
    hib = metric not in ("error_rate", "cost") and not metric.startswith("latency_")
    seen: set[str] = set()
    for run in runs:
        metrics = recorded_metrics(store, run.id)
        seen.update(metrics)
        m = metrics.get(metric)
        if m is not None:
            hib = m.higher_is_better
        points.append(
            TrendPoint(
                run_id=run.id,
                created_at=run.created_at,
                value=None if m is None else m.value,
                n=0 if m is None else m.n,
                ci_low=None if m is None else m.ci_low,
                ci_high=None if m is None else m.ci_high,
                model=f"{run.model.get('provider')}:{run.model.get('name')}",
                prompt=f"{run.prompt_name} v{run.prompt_version}",
                alias=run.alias,
                label=run.label,
            )
        )
    if runs and metric not in seen:
        raise UserError(
            f"no run of suite {suite_id!r} recorded a metric {metric!r};"
            f" known: {', '.join(sorted(seen))}"
        )
    return Trend(suite_id=suite_id, metric=metric, alias=alias, higher_is_better=hib, points=points)


def sparkline(values: Sequence[float | None]) -> str:
    """Eight-level block characters scaled to the values' range; a gap for a missing
    value, a flat middle line when every value is equal."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(_BARS[3])
        else:
            out.append(_BARS[min(7, int((v - low) / span * 7 + 0.5))])
    return "".join(out)
