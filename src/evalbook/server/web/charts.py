"""Chart geometry for the pages (inline SVG drawn on the server, no script): an
interval bar for a mean with its confidence interval, a difference on a track centred on
zero, latency histograms, and a pass-rate trend whose points link to their runs.
``sparkline_svg`` (the report's, ``io/report_charts.py``) is here for pages that scale a
line to its own range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalbook.io.report_charts import Sparkline, sparkline_svg

__all__ = [
    "Bar",
    "DeltaBar",
    "Histogram",
    "IntervalBar",
    "Sparkline",
    "Trend",
    "TrendDot",
    "delta_bar",
    "histogram",
    "interval_bar",
    "pass_rate_trend",
    "sparkline_svg",
]


@dataclass(frozen=True)
class IntervalBar:
    """x positions on a track of ``width``: the interval's ends and the mean."""

    width: float
    height: float
    low: float | None
    high: float | None
    mean: float
    title: str


def interval_bar(
    value: float | None,
    low: float | None,
    high: float | None,
    *,
    width: float = 140,
    height: float = 14,
    top: float = 1.0,
) -> IntervalBar | None:
    """The mean and interval of a score on a [0, ``top``] track (``top`` grows to fit a
    larger value); ``None`` without a mean."""
    if value is None:
        return None
    top = max(top, value, high or 0.0)
    pad = 4.0

    def x(v: float) -> float:
        return pad + (width - 2 * pad) * min(max(v, 0.0), top) / top

    shown = f"{value:.3f}"
    if low is not None and high is not None:
        shown += f" (95% CI {low:.3f}–{high:.3f})"
    return IntervalBar(
        width=width,
        height=height,
        low=None if low is None else round(x(low), 1),
        high=None if high is None else round(x(high), 1),
        mean=round(x(value), 1),
        title=shown,
    )


@dataclass(frozen=True)
class TrendDot:
    x: float
    y: float
    run_id: str
    title: str


@dataclass(frozen=True)
class Trend:
    """A pass-rate sparkline whose every point links to its run."""

    width: float
    height: float
    points: str
    dots: list[TrendDot]
    low: float | None
    high: float | None


def pass_rate_trend(runs: list[Any], *, width: float = 560, height: float = 72) -> Trend:
    """The pass rate of ``runs`` (oldest first) as a sparkline on a fixed 0–100% scale (a
    flat line at 98% reads as 98%, not as the bottom of the chart); a run without a pass
    rate (nothing graded) leaves a gap."""
    values = [_pass_rate(run) for run in runs]
    left, pad = 36.0, 8.0
    step = (width - left - pad) / max(len(runs) - 1, 1)
    dots = []
    for i, (run, value) in enumerate(zip(runs, values, strict=True)):
        if value is None:
            continue
        x = left + i * step if len(runs) > 1 else (left + width - pad) / 2
        y = height - pad - value * (height - 2 * pad)
        title = f"{run.created_at:%Y-%m-%d %H:%M} · {_shown(value)} · run {run.id[:8]}"
        dots.append(TrendDot(round(x, 1), round(y, 1), run.id, title))
    known = [v for v in values if v is not None]
    return Trend(
        width=width,
        height=height,
        points=" ".join(f"{d.x},{d.y}" for d in dots),
        dots=dots,
        low=min(known) if known else None,
        high=max(known) if known else None,
    )


def _pass_rate(run: Any) -> float | None:
    value = run.metrics.get("pass_rate")
    if isinstance(value, int | float):
        return float(value)
    graded = run.counts.passed + run.counts.failed
    return run.counts.passed / graded if graded else None


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}% passed"


@dataclass(frozen=True)
class DeltaBar:
    """A difference and its interval on a track centred on zero (x positions)."""

    width: float
    height: float
    zero: float
    low: float | None
    high: float | None
    mean: float
    title: str


def delta_bar(
    value: float | None,
    low: float | None,
    high: float | None,
    *,
    width: float = 120,
    height: float = 14,
) -> DeltaBar | None:
    """``value`` (candidate − baseline) with its interval on a symmetric track: whether
    the interval crosses zero reads at a glance."""
    if value is None:
        return None
    reach = max(abs(value), abs(low or 0.0), abs(high or 0.0), 0.02) * 1.1
    pad = 4.0

    def x(v: float) -> float:
        return round(pad + (width - 2 * pad) * (v + reach) / (2 * reach), 1)

    shown = f"Δ {value:+.3f}"
    if low is not None and high is not None:
        shown += f" (interval {low:+.3f} to {high:+.3f})"
    return DeltaBar(
        width=width,
        height=height,
        zero=x(0.0),
        low=None if low is None else x(low),
        high=None if high is None else x(high),
        mean=x(value),
        title=shown,
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    title: str


@dataclass(frozen=True)
class Histogram:
    width: float
    height: float
    bars: list[Bar]
    low: str
    high: str
    label: str


def histogram(
    counts: list[int],
    edges: list[float],
    *,
    top: int | None = None,
    width: float = 260,
    height: float = 56,
    unit: str = "ms",
) -> Histogram | None:
    """Bars of ``counts`` over ``edges`` (``len(edges) == len(counts) + 1``), scaled to
    ``top`` (shared by histograms drawn side by side) or to their own highest bar."""
    if not counts or len(edges) != len(counts) + 1:
        return None
    peak = top or max(counts) or 1
    base = height - 2
    step = width / len(counts)
    bars = []
    for i, n in enumerate(counts):
        h = round((base - 2) * n / peak, 1) if n else 0.0
        title = f"{edges[i]:.0f}–{edges[i + 1]:.0f} {unit}: {n} case{'s' if n != 1 else ''}"
        bars.append(Bar(round(i * step + 0.5, 1), round(base - h, 1), round(step - 1, 1), h, title))
    total = sum(counts)
    return Histogram(
        width=width,
        height=height,
        bars=bars,
        low=f"{edges[0]:.0f} {unit}",
        high=f"{edges[-1]:.0f} {unit}",
        label=f"Latency histogram of {total} cases, {edges[0]:.0f} to {edges[-1]:.0f} {unit}",
    )
