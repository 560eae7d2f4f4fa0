"""``evalbook runs list`` and ``evalbook runs show RUN_ID``."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from evalbook.cli.console import console
from evalbook.cli.store import open_store
from evalbook.cli.summary import fmt_cost, fmt_ms, fmt_score, print_summary, verdict

app = typer.Typer(help="List and inspect recorded runs.", no_args_is_help=True)


@app.command("list")
def list_command(
    suite: str | None = typer.Option(None, "--suite", help="Only runs of this suite id."),
    status: str | None = typer.Option(
        None, "--status", help="pending|running|completed|failed|canceled"
    ),
    alias: str | None = typer.Option(None, "--alias"),
    tag: str | None = typer.Option(None, "--tag"),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recorded runs, most recent first."""
    store = open_store()
    runs = store.list_runs(suite_id=suite, status=status, alias=alias, tag=tag, limit=limit)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in runs]))
        return
    if not runs:
        console.print(f"no runs recorded in {store.location}")
        return
    table = Table()
    for col in (
        "id",
        "date",
        "suite",
        "model",
        "prompt",
        "alias",
        "status",
        "score",
        "cases",
        "p50",
        "cost",
    ):
        table.add_column(col, overflow="fold")
    for r in runs:
        lat = (r.metrics.get("latency_ms") or {}).get("p50")
        table.add_row(
            r.id[:8],
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.suite_id,
            f"{r.model.get('provider')}:{r.model.get('name')}",
            f"{r.prompt_name} v{r.prompt_version}",
            r.alias or "",
            verdict(r),
            fmt_score(r.score),
            f"{r.counts.passed}/{r.counts.total}",
            fmt_ms(lat),
            fmt_cost(r.cost),
        )
    console.print(table)


@app.command("show")
def show_command(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."),
    results: bool = typer.Option(False, "--results", help="Also list every case."),
    failed: bool = typer.Option(False, "--failed", help="List only failed and errored cases."),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (the run, its metrics and results)."
    ),
) -> None:
    """One run: summary, breakdown and (optionally) its cases."""
    store = open_store()
    run = store.get_run(run_id)
    if as_json:
        payload = run.model_dump(mode="json")
        payload["metric_rows"] = store.get_metrics(run.id)
        payload["results"] = [
            r.model_dump(mode="json")
            for r in store.iter_results(run.id)
            if not failed or r.status.value != "passed"
        ]
        console.print_json(json.dumps(payload, default=str))
        return
    print_summary(store, run)
    if results or failed:
        table = Table(title="cases", title_justify="left")
        for col in ("case", "epoch", "status", "score", "latency", "output / error"):
            table.add_column(col, overflow="fold")
        for r in store.iter_results(run.id):
            if failed and r.status.value == "passed":
                continue
            text = r.error_message if r.error_message else (r.output or "")
            style = {"passed": "green", "failed": "red", "error": "yellow"}[r.status.value]
            table.add_row(
                r.case_id,
                str(r.epoch),
                f"[{style}]{r.status.value}[/]",
                fmt_score(r.score),
                "cached" if r.cached else fmt_ms(r.latency_ms),
                text[:200].replace("\n", " "),
            )
        console.print(table)
