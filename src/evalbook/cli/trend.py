"""``evalbook trend SUITE``: a metric over a suite's runs, as a sparkline and its table."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from evalbook.analysis.history.trends import sparkline, trend
from evalbook.cli.console import console
from evalbook.cli.summary import fmt_score
from evalbook.storage.store import Store
from evalbook.suites import load_suite


def suite_id_of(suite: str) -> str:
    """A suite id, or the id of the suite file at that path."""
    path = Path(suite)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        return load_suite(path).id
    return suite


def trend_command(
    suite: str = typer.Argument(..., metavar="SUITE", help="Suite id, or the suite file."),
    alias: str | None = typer.Option(None, "--alias", help="Only runs under this alias."),
    metric: str = typer.Option(
        "score", "--metric", help="score, pass_rate, a scorer, section:NAME, error_rate, cost…"
    ),
    prompt: str | None = typer.Option(None, "--prompt", help="Only runs of this prompt name."),
    limit: int = typer.Option(30, "--limit", "-n", min=1, max=1000, help="Most recent runs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Runs of a suite over time: a terminal sparkline of one metric and the table behind it."""
    store = Store.open()
    result = trend(
        store, suite_id_of(suite), metric=metric, alias=alias, prompt_name=prompt, limit=limit
    )
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
        return
    if not result.points:
        console.print(
            f"no completed runs of suite {result.suite_id!r}"
            + (f" under alias {alias!r}" if alias else "")
        )
        return
    known = [v for v in result.values if v is not None]
    span = f"min {fmt_score(min(known))} · max {fmt_score(max(known))}" if known else ""
    direction = "higher is better" if result.higher_is_better else "lower is better"
    console.print(f"[bold]{result.suite_id}[/] {metric} ({direction}), oldest → newest")
    console.print(f"  [bold cyan]{sparkline(result.values)}[/]  {span}")
    table = Table(title_justify="left")
    for col in ("date", "run", "model", "prompt", "alias", metric, "CI", "n"):
        table.add_column(col, justify="right" if col in (metric, "n") else "left")
    for p in result.points:
        ci = "" if p.ci_low is None or p.ci_high is None else f"[{p.ci_low:.3f}, {p.ci_high:.3f}]"
        table.add_row(
            p.created_at.strftime("%Y-%m-%d %H:%M"),
            p.run_id[:8],
            p.model,
            p.prompt,
            p.alias or "",
            fmt_score(p.value),
            ci,
            str(p.n),
        )
    console.print(table)
