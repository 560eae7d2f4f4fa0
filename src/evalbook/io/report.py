"""``evalbook report``: one self-contained HTML file about a run, optionally against a
baseline — summary, section and scorer charts, latency histogram, trend sparkline,
metric table with intervals and p-values, flips and word-level diffs; a report of one run
lists every case (input, output, expected, each score with its evidence), each folded
away until opened, streamed from the database as the file is written.

Why one file with everything inline: a report is attached to a pull request, mailed,
archived next to a release; it must open offline, years later, with no CDN. Charts are
inline SVG computed in ``report_charts.py``; the Jinja2 template is autoescaped, so a
model's output can never inject markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from evalbook._version import __version__
from evalbook.analysis.compare.comparison import Comparison, RunSide
from evalbook.analysis.compare.diffs import case_diffs
from evalbook.analysis.compare.facts import load_facts
from evalbook.analysis.compare.latency import shared_edges
from evalbook.analysis.compare.run_metrics import recorded_metrics
from evalbook.analysis.compare.runs import compare_runs, run_side
from evalbook.analysis.history.trends import trend
from evalbook.core.run import RunRecord
from evalbook.io.report_charts import bar_chart, histogram, sparkline_svg
from evalbook.storage.store import Store

__all__ = ["render_report", "write_report"]

TEMPLATES = Path(__file__).with_name("templates")
#: Longest text shown for one field of a case (a prompt, an output); the rest is counted.
CLIP = 4000
#: Failing cases linked from the top of the case list.
MAX_FAILING_LINKS = 500


def _clip(text: object, limit: int = CLIP) -> str:
    value = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit:,} more characters)"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clip"] = _clip
    return env


def render_report(
    store: Store,
    run: str | RunRecord,
    *,
    baseline: str | RunRecord | None = None,
    max_flips: int = 50,
    max_diffs: int = 20,
) -> str:
    """The report's HTML. ``baseline`` adds the comparison, flips and diffs."""
    return "".join(_stream(store, run, baseline=baseline, max_flips=max_flips, max_diffs=max_diffs))


def _stream(
    store: Store,
    run: str | RunRecord,
    *,
    baseline: str | RunRecord | None = None,
    max_flips: int = 50,
    max_diffs: int = 20,
) -> Iterator[str]:
    record = store.get_run(run) if isinstance(run, str) else run
    base = store.get_run(baseline) if isinstance(baseline, str) else baseline
    comparison: Comparison | None = None
    if base is not None:
        comparison = compare_runs(store, base, record)
        side, edges = comparison.candidate, comparison.latency_edges
    else:
        facts = load_facts(store, record)
        edges = shared_edges(facts.latency)
        side = run_side(facts, edges)
    context: dict[str, Any] = {
        "run": record,
        "baseline": base,
        "side": side,
        "comparison": comparison,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
    }
    context.update(_charts(store, record, side, comparison, edges))
    if comparison is not None:
        context["regressions"] = comparison.regressions[:max_flips]
        context["fixes"] = comparison.fixes[:max_flips]
        flipped = [*comparison.regressions, *comparison.fixes][:max_diffs]
        keys = [(f.case_id, f.epoch) for f in flipped]
        context["diffs"] = case_diffs(store, base, record, keys) if base is not None else []
    else:
        context["metrics"] = sorted(recorded_metrics(store, record.id).values(), key=_order)
        statuses = store.result_statuses(record.id)
        context["failing"] = sorted(k for k, v in statuses.items() if v != "passed")
        context["max_failing_links"] = MAX_FAILING_LINKS
        context["cases"] = store.iter_results(record.id)  # read in batches as the page is written
    return _env().get_template("report.html.j2").generate(**context)


def write_report(store: Store, run: str | RunRecord, path: Path, **options: Any) -> Path:
    """Write the report to ``path`` as it renders (a 10,000-case report never sits whole
    in memory)."""
    with path.open("w", encoding="utf-8") as out:
        for chunk in _stream(store, run, **options):
            out.write(chunk)
    return path


def _order(metric: Any) -> tuple[int, str]:
    key = str(metric.key)
    rank = 0 if key in ("score", "pass_rate") else 2 if key.startswith("section:") else 1
    return rank, key


def _charts(
    store: Store,
    run: RunRecord,
    side: RunSide,
    comparison: Comparison | None,
    edges: list[float],
) -> dict[str, Any]:
    series = ["baseline", "candidate"] if comparison else ["this run"]
    sections: list[tuple[str, list[float | None]]] = []
    scorers: list[tuple[str, list[float | None]]] = []
    if comparison is not None:
        for m in comparison.metrics:
            row = (m.name, [m.baseline, m.candidate])
            if m.kind == "section":
                sections.append(row)
            elif m.kind == "scorer":
                scorers.append(row)
        lat_series = [
            ("baseline", comparison.baseline.latency.histogram),
            ("candidate", comparison.candidate.latency.histogram),
        ]
    else:
        for key, recorded in sorted(recorded_metrics(store, run.id).items()):
            if key.startswith("section:"):
                sections.append((key.removeprefix("section:"), [recorded.value]))
        scorers = [(k, [v]) for k, v in sorted((run.metrics.get("scorers") or {}).items())]
        lat_series = [("this run", side.latency.histogram)]
    history = trend(store, run.suite_id, metric="score", limit=30)
    ids = [p.run_id for p in history.points]
    return {
        "series": series,
        "section_chart": bar_chart(sections, series, scale_max=1.0) if sections else None,
        "scorer_chart": bar_chart(scorers, series) if scorers else None,
        "latency_chart": histogram(edges, lat_series) if edges else None,
        "trend": history,
        "trend_chart": sparkline_svg(
            history.values,
            [
                f"{p.created_at:%Y-%m-%d} {p.run_id[:8]} {p.prompt}: {p.value}"
                for p in history.points
            ],
            highlight=ids.index(run.id) if run.id in ids else None,
        ),
    }
