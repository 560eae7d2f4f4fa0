"""Rich rendering of comparisons: the tables ``evalbook compare`` and ``gate`` print."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from evalbook.analysis.compare.comparison import Comparison, Flip, MetricComparison
from evalbook.analysis.compare.diffs import CaseDiff, DiffOp
from evalbook.analysis.compare.flips import SortKey, sort_flips
from evalbook.analysis.history.trends import sparkline
from evalbook.cli.console import console, shown
from evalbook.cli.summary import fmt_cost, fmt_ms, fmt_score


def _ci(ci: tuple[float | None, float | None], signed: bool = False) -> str:
    lo, hi = ci
    if lo is None or hi is None:
        return ""
    return f" [{lo:+.3f}, {hi:+.3f}]" if signed else f" [{lo:.3f}, {hi:.3f}]"


def _delta(m: MetricComparison, alpha: float = 0.05) -> Text:
    if m.difference is None:
        return Text("—")
    text = f"{m.difference:+.3f}{_ci(m.difference_ci, signed=True)}"
    drop = m.drop or 0.0
    style = ""
    if m.significant(alpha):
        style = "bold red" if drop > 0 else "bold green" if drop < 0 else ""
    return Text(text, style=style)


def _p(m: MetricComparison) -> str:
    if m.p_value is None:
        return "—"
    effect = "" if m.effect_size is None else f", {m.effect_measure} {m.effect_size:+.2f}"
    return f"{m.p_value:.3g} ({m.test}{effect})"


def print_runs(comparisons: list[Comparison]) -> None:
    sides = [comparisons[0].baseline, *(c.candidate for c in comparisons)]
    table = Table(title="runs", title_justify="left")
    table.add_column("")
    for k in range(len(sides)):
        table.add_column(
            "baseline" if k == 0 else f"candidate {k}" if len(sides) > 2 else "candidate"
        )
    rows = {
        "run": [s.id[:8] for s in sides],
        "date": [s.created_at.strftime("%Y-%m-%d %H:%M") for s in sides],
        "model": [s.model for s in sides],
        "served": [", ".join(s.served_builds) or "—" for s in sides],
        "prompt": [f"{s.prompt} v{s.prompt_version}" for s in sides],
        "alias": [s.alias or "—" for s in sides],
        "cases": [
            f"{s.usage.total} ({s.usage.passed} passed, {s.usage.failed} failed,"
            f" {s.usage.errored} errors, {s.usage.cached} cached)"
            for s in sides
        ],
        "error rate": [
            "—" if s.usage.error_rate is None else f"{s.usage.error_rate:.1f}%" for s in sides
        ],
        "tokens": [f"{s.usage.input_tokens} in, {s.usage.output_tokens} out" for s in sides],
        "cost": [fmt_cost(s.usage.cost) for s in sides],
        "latency": [
            " · ".join(
                f"{q} {fmt_ms(v)}"
                for q, v in (("p50", s.latency.p50), ("p90", s.latency.p90), ("p99", s.latency.p99))
            )
            for s in sides
        ],
        "latency histogram": [sparkline([float(x) for x in s.latency.histogram]) for s in sides],
    }
    derived = list(dict.fromkeys(name for s in sides for name in s.derived))
    for name in derived:  # derived_metrics:, when a run has them
        rows[f"derived {name}"] = [_derived(s.derived, name) for s in sides]
    for name, values in rows.items():
        table.add_row(name, *values)
    console.print(table)
    if comparisons[0].latency_edges:
        lo, hi = comparisons[0].latency_edges[0], comparisons[0].latency_edges[-1]
        console.print(
            f"[dim]latency histograms share {len(comparisons[0].latency_edges) - 1} bins from"
            f" {fmt_ms(lo)} to {fmt_ms(hi)}; cached and errored cases are left out[/]"
        )


def print_metrics(comparisons: list[Comparison]) -> None:
    first = comparisons[0]
    table = Table(
        title=f"metrics over paired cases ({first.confidence:.0%} CI; Δ = candidate − baseline)",
        title_justify="left",
    )
    table.add_column("metric")
    table.add_column("n", justify="right")
    table.add_column("baseline", justify="right")
    many = len(comparisons) > 1
    for k, _ in enumerate(comparisons, 1):
        suffix = f" {k}" if many else ""
        table.add_column(f"candidate{suffix}", justify="right")
        table.add_column(f"Δ{suffix}", justify="right")
        table.add_column(f"p{suffix}")
    for m in first.metrics:
        cells: list[str | Text] = [m.key, str(m.n), fmt_score(m.baseline) + _ci(m.baseline_ci)]
        for c in comparisons:
            other = c.metric(m.key)
            if other is None:
                cells += ["—", "—", "—"]
                continue
            cells += [
                fmt_score(other.candidate) + _ci(other.candidate_ci),
                _delta(other),
                _p(other),
            ]
        table.add_row(*cells)
    console.print(table)


def print_flips(c: Comparison, *, sort: SortKey = "delta", limit: int = 20) -> None:
    for title, flips, reverse in (
        ("newly failing (regressions)", c.regressions, False),
        ("newly passing (fixes)", c.fixes, True),
    ):
        if not flips:
            console.print(f"[dim]{title}: none[/]")
            continue
        ordered = sort_flips(flips, sort, reverse=reverse and sort == "delta")
        table = Table(title=f"{title}: {len(flips)}", title_justify="left")
        for col in ("case", "epoch", "section", "baseline", "candidate", "Δ score"):
            table.add_column(col, justify="right" if col == "Δ score" else "left")
        for f in ordered[:limit]:
            table.add_row(*_flip_cells(f))
        if len(flips) > limit:
            table.caption = f"… {len(flips) - limit} more (--limit)"
        console.print(table)


def _flip_cells(f: Flip) -> list[str | Text]:
    return [
        shown(f.case_id),
        str(f.epoch),
        shown(f.section or ""),
        f"{f.baseline_status} {f.baseline_score:.3f}",
        f"{f.candidate_status} {f.candidate_score:.3f}",
        f"{f.delta:+.3f}",
    ]


def diff_text(ops: list[DiffOp]) -> Text:
    text = Text()
    for op in ops:
        style = {"equal": "", "delete": "red strike", "insert": "green underline"}[op.op]
        text.append_text(shown(op.text, style, one_line=False))
    return text


def print_case_diff(diff: CaseDiff, baseline_id: str, candidate_id: str) -> None:
    def verdict(status: str | None, score: float | None) -> str:
        return "absent" if status is None else f"{status} {fmt_score(score)}"

    console.print(
        Text.assemble(
            shown(f"case {diff.case_id}", "bold"),
            f" (epoch {diff.epoch}):"
            f" {baseline_id[:8]} {verdict(diff.baseline_status, diff.baseline_score)}"
            f" → {candidate_id[:8]} {verdict(diff.candidate_status, diff.candidate_score)}",
        )
    )
    if diff.prompt is not None:
        console.print("[bold]prompt[/] [dim](red: only in baseline, green: only in candidate)[/]")
        console.print(diff_text(diff.prompt))
    console.print("[bold]output[/] [dim](red: only in baseline, green: only in candidate)[/]")
    console.print(diff_text(diff.output))


def _derived(values: dict[str, float | None], name: str) -> str:
    if name not in values:
        return "—"
    value = values[name]
    return "no value" if value is None else f"{value:.4g}"
