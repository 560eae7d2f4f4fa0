"""The run summary table printed after a run and by ``evalbook runs show``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from evalbook.cli.console import console, shown
from evalbook.core.run import RunRecord, RunStatus

if TYPE_CHECKING:
    from evalbook.storage.store import Store


def fmt_score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def fmt_cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def verdict(run: RunRecord) -> str:
    if run.status is not RunStatus.completed:
        return f"[yellow]{run.status.value}[/]"
    return "[bold green]PASS[/]" if run.passed else "[bold red]FAIL[/]"


def print_summary(store: Store, run: RunRecord) -> None:
    m = run.metrics
    c = run.counts
    table = Table(
        title=run.title, show_header=False, title_justify="left", box=None, pad_edge=False
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("run", run.id)
    table.add_row(
        "status", f"{run.status.value}" + (f" ({run.stop_reason})" if run.stop_reason else "")
    )
    scored = m.get("scored", c.passed + c.failed)
    table.add_row(
        "score",
        f"{fmt_score(run.score)} over {scored} scored case(s), {c.errored} errored left out"
        f"  threshold {run.threshold:g}  {verdict(run)}",
    )
    for reason in m.get("failing") or []:
        table.add_row("", f"[red]fails:[/] {escape(reason)}")
    kinds = m.get("errors_by_kind") or {}
    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    table.add_row(
        "cases",
        f"{c.total} total · [green]{c.passed} passed[/] · [red]{c.failed} failed[/]"
        f" · [yellow]{c.errored} errors[/]"
        + (f" ({by_kind})" if by_kind else "")
        + f" · {c.cached} cached",
    )
    lat = m.get("latency_ms") or {}
    table.add_row(
        "latency",
        f"p50 {fmt_ms(lat.get('p50'))} · p95 {fmt_ms(lat.get('p95'))} (cached answers excluded)",
    )
    table.add_row(
        "tokens",
        f"{run.token_count or 0}"
        f" ({run.input_token_count or 0} in, {run.output_token_count or 0} out)",
    )
    table.add_row("cost", fmt_cost(run.cost))
    table.add_row("duration", fmt_ms(run.duration_ms))
    table.add_row("model", f"{run.model.get('provider')}:{run.model.get('name')}")
    table.add_row("prompt", f"{run.prompt_name} v{run.prompt_version}")
    console.print(table)

    sections = m.get("sections") or {}
    scorers = m.get("scorers") or {}
    derived = m.get("derived") or {}
    if sections or scorers or derived:
        breakdown = Table(title="breakdown", title_justify="left")
        breakdown.add_column("kind")
        breakdown.add_column("name")
        breakdown.add_column("mean score (errored cases left out)", justify="right")
        for name, value in sections.items():
            breakdown.add_row("section", name, fmt_score(value))
        for name, value in scorers.items():
            breakdown.add_row("scorer", name, fmt_score(value))
        for name, value in derived.items():  # over the sums of named scores
            breakdown.add_row("derived", name, "—" if value is None else f"{value:.4g}")
        console.print(breakdown)
    errors = m.get("errors") or []
    if errors:
        listing = Table(title="errored cases", title_justify="left")
        for column in ("case", "kind", "why"):
            listing.add_column(column)
        for e in errors:
            case = e["case_id"] + (f" (epoch {e['epoch']})" if e.get("epoch") else "")
            why = f"{e.get('type') or 'error'}: {e.get('message') or ''}"
            listing.add_row(shown(case), e.get("kind", ""), shown(why[:200]))
        console.print(listing)
        if c.errored > len(errors):
            console.print(f"… and {c.errored - len(errors)} more (evalbook runs show --failed)")
    console.print(f"recorded in {store.location} as run [bold]{run.id}[/]")
