"""How numbers, times and durations read on a page (template filters)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

__all__ = ["FILTERS", "ago", "duration", "money", "pct", "score"]


def score(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def money(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def duration(ms: float | None) -> str:
    """``850 ms``, ``12.4 s``, ``3 m 05 s``, ``2 h 01 m``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m} m {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} m"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, then the date."""
    if when is None:
        return "—"
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    s = (now - when).total_seconds()
    if s < 45:
        return "just now"
    if s < 3600:
        return f"{round(s / 60)} min ago"
    if s < 86400:
        return f"{round(s / 3600)} h ago"
    if s < 7 * 86400:
        return f"{round(s / 86400)} d ago"
    return when.strftime("%Y-%m-%d")


def isotime(when: datetime | None) -> str:
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}"


def grid_cells(grid: Any, run_id: str) -> Markup:
    """A progress grid's cells (up to a thousand per card) as HTML, built here rather than
    in a template loop: the sandboxed loop cost 40–140 ms per card; this costs about 1 ms.
    Case ids are user text: escaped (and URL-quoted in links) like everything else."""
    run = escape(run_id)
    parts = []
    for i, (state, n, first) in enumerate(grid.cells):
        if first:
            case, epoch = first
            title = escape(f"{case}{f' · epoch {epoch}' if epoch else ''}: {state}")
            link = (
                f' href="/runs/{run}?case={escape(quote(str(case), safe=""))}&amp;epoch={epoch}"'
                f' title="{title}"'
            )
            label = escape(f"{case}: {state}")
        else:
            link = ""
            label = escape(f"{i}: {state}")
        parts.append(
            f'<a class="cell c-{escape(state)}" data-i="{i}" data-done="{int(n)}"{link}'
            f' aria-label="{label}"></a>'
        )
    return Markup("".join(parts))


def json_text(value: Any) -> str:
    """A value as JSON to read on a page (keys sorted, non-ASCII kept): plain text that
    the page escapes like any other, unlike ``tojson``'s ``\\u003c`` meant for scripts."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


FILTERS: dict[str, Callable[..., Any]] = {
    "grid_cells": grid_cells,
    "score": score,
    "pct": pct,
    "money": money,
    "duration": duration,
    "ago": ago,
    "isotime": isotime,
    "num": num,
    "json_text": json_text,
}
