"""Chart geometry for the HTML report: bars, histograms and sparklines as plain numbers.

Why compute geometry here and draw in the template: the template stays markup (and
autoescaped), the arithmetic stays testable, and the page needs no JavaScript or CDN —
every chart is inline SVG that opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Bar", "BarChart", "Sparkline", "bar_chart", "histogram", "sparkline_svg"]

SERIES_CLASSES = ("s0", "s1")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    bars: list[Bar]
    labels: list[Label] = field(default_factory=list)


def bar_chart(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    width: float = 640,
    row_height: float = 18,
    label_width: float = 160,
    scale_max: float | None = None,
) -> BarChart:
    """Horizontal bars: one group per row (a section), one bar per series (a run)."""
    known = [v for _, values in rows for v in values if v is not None]
    top = scale_max if scale_max is not None else max([1.0, *known])
    plot = width - label_width - 60
    bars: list[Bar] = []
    labels: list[Label] = []
    group = row_height * len(series) + 8
    for r, (name, values) in enumerate(rows):
        y0 = 4 + r * group
        labels.append(Label(x=label_width - 6, y=y0 + group / 2, text=name, anchor="end"))
        for s, value in enumerate(values):
            v = 0.0 if value is None else max(0.0, value)
            w = plot * min(v, top) / top if top else 0.0
            y = y0 + s * row_height
            shown = "—" if value is None else f"{value:.3f}"
            bars.append(
                Bar(
                    label_width,
                    y,
                    w,
                    row_height - 3,
                    SERIES_CLASSES[s % 2],
                    f"{series[s]}: {shown}",
                )
            )
            labels.append(Label(x=label_width + w + 4, y=y + row_height / 2, text=shown))
    return BarChart(width=width, height=4 + len(rows) * group, bars=bars, labels=labels)


def histogram(
    edges: Sequence[float],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: float = 640,
    height: float = 160,
) -> BarChart:
    """Vertical bars over shared bins, series side by side within each bin."""
    bins = max(len(edges) - 1, 0)
    if bins == 0 or not series:
        return BarChart(width=width, height=0, bars=[])
    top = max([1, *(c for _, counts in series for c in counts)])
    plot_h = height - 28
    slot = (width - 20) / bins
    bar_w = slot / len(series)
    bars = []
    for s, (name, counts) in enumerate(series):
        for b, count in enumerate(counts):
            h = plot_h * count / top
            bars.append(
                Bar(
                    x=10 + b * slot + s * bar_w,
                    y=4 + plot_h - h,
                    width=max(bar_w - 1, 0.5),
                    height=h,
                    css=SERIES_CLASSES[s % 2],
                    title=f"{name}: {count} in {edges[b]:.0f}–{edges[b + 1]:.0f} ms",
                )
            )
    labels = [
        Label(x=10, y=height - 8, text=f"{edges[0]:.0f} ms"),
        Label(x=width - 10, y=height - 8, text=f"{edges[-1]:.0f} ms", anchor="end"),
    ]
    return BarChart(width=width, height=height, bars=bars, labels=labels)


@dataclass(frozen=True)
class Sparkline:
    width: float
    height: float
    points: str  # the polyline's "x,y x,y …"
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    highlight: tuple[float, float] | None


def sparkline_svg(
    values: Sequence[float | None],
    titles: Sequence[str],
    *,
    highlight: int | None = None,
    width: float = 320,
    height: float = 48,
) -> Sparkline:
    """A polyline through the known values, scaled to their range (gaps skipped)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return Sparkline(width, height, "", [], None)
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    span = high - low or 1.0
    step = (width - 8) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 4 + i * step, height - 4 - (v - low) / span * (height - 8)

    coords = [xy(i, v) for i, v in known]
    mark = None
    if highlight is not None and values[highlight] is not None:
        mark = xy(highlight, values[highlight])  # type: ignore[arg-type]
    return Sparkline(
        width=width,
        height=height,
        points=" ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
        dots=[(x, y, titles[i]) for (x, y), (i, _) in zip(coords, known, strict=True)],
        highlight=mark,
    )
