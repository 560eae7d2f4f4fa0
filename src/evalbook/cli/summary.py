"""The run summary table printed after a run and by ``evalbook runs show``."""

from __future__ import annotations

from rich.table import Table

from evalbook.cli.console import console
from evalbook.core.run import RunRecord, RunStatus
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
    table.add_row("score", f"{fmt_score(run.score)}  threshold {run.threshold:g}  {verdict(run)}")
    table.add_row(
        "cases",
        f"{c.total} total · [green]{c.passed} passed[/] · [red]{c.failed} failed[/]"
        f" · [yellow]{c.errored} errors[/] · {c.cached} cached",
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
    if sections or scorers:
        breakdown = Table(title="breakdown", title_justify="left")
        breakdown.add_column("kind")
        breakdown.add_column("name")
        breakdown.add_column("mean score", justify="right")
        for name, value in sections.items():
            breakdown.add_row("section", name, fmt_score(value))
        for name, value in scorers.items():
            breakdown.add_row("scorer", name, fmt_score(value))
        console.print(breakdown)
    console.print(f"recorded in {store.location} as run [bold]{run.id}[/]")
