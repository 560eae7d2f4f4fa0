"""``evalbook runs list``, ``evalbook runs show RUN_ID`` and ``evalbook runs cancel RUN_ID``."""

from __future__ import annotations

import json
from collections.abc import Iterable

import typer
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalbook.cli.console import console, escaped
from evalbook.cli.store import open_store
from evalbook.cli.summary import fmt_cost, fmt_ms, fmt_score, print_summary
from evalbook.core.result import Result
from evalbook.core.run import RunRecord, RunStatus
from evalbook.storage import queue
from evalbook.storage.run_refs import RUN_HELP, named_run

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
    from evalbook.executor.lease import owner_gone  # lazy: keeps `runs` quick to start

    gone = queue.interrupted(store, [r.id for r in runs], gone=owner_gone)
    rows = [_row(r, interrupted=r.id in gone) for r in runs]
    if console.is_terminal:
        _print_fitted(rows)
    else:
        _print_plain(rows)


#: The columns of ``runs list``; those after ``cases`` are dropped first on a narrow terminal.
COLUMNS = ("id", "date", "suite", "model", "prompt", "status", "score", "cases")
EXTRA_COLUMNS = ("alias", "p50", "cost")


def _row(r: RunRecord, *, interrupted: bool = False) -> dict[str, str]:
    lat = (r.metrics.get("latency_ms") or {}).get("p50")
    if interrupted:
        status = "interrupted"
    elif r.status is not RunStatus.completed:
        status = r.status.value
    else:
        status = "PASS" if r.passed else "FAIL"
    return {
        "id": r.id[:8],
        "date": r.created_at.strftime("%Y-%m-%d %H:%M"),
        # Names a suite's author wrote: escaped, and printed as text (never markup).
        "suite": escaped(r.suite_id),
        "model": escaped(f"{r.model.get('provider')}:{r.model.get('name')}"),
        "prompt": escaped(f"{r.prompt_name} v{r.prompt_version}"),
        "status": status,
        "score": fmt_score(r.score),
        "cases": f"{r.counts.passed}/{r.counts.total}",
        "alias": escaped(r.alias or ""),
        "p50": fmt_ms(lat),
        "cost": fmt_cost(r.cost),
    }


def _print_plain(rows: list[dict[str, str]]) -> None:
    """Not a terminal (a pipe, a file, a CI log): whole values, one run per line, aligned."""
    columns = [*COLUMNS, *EXTRA_COLUMNS]
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
    for line in ({c: c for c in columns}, *rows):
        typer.echo("  ".join(line[c].ljust(widths[c]) for c in columns).rstrip())


_STYLE = {"PASS": "bold green", "FAIL": "bold red"}


def _print_fitted(rows: list[dict[str, str]], out: Console = console) -> None:
    """A terminal: one line per run at any width; long names end in "…" rather than wrap,
    and the optional columns show when the terminal has room for them."""
    narrow = out.width < 100
    fitted = []
    for row in rows:
        cells = dict(row)
        if narrow:
            cells["date"] = row["date"][5:]
        if row["prompt"].startswith(f"{row['suite']} v"):
            cells["prompt"] = row["prompt"][len(row["suite"]) + 1 :]
        fitted.append(cells)
    columns = list(COLUMNS)
    if out.width >= 140:
        columns += EXTRA_COLUMNS
    elif not narrow:
        columns.insert(5, "alias")
    widths = {c: max(len(c), *(len(cells[c]) for cells in fitted)) for c in columns}
    # Shorten the names (suite, model, prompt, alias), longest first, until the line fits.
    room = out.width - 2 * (len(columns) - 1)
    names = [c for c in ("suite", "model", "prompt", "alias") if c in widths]
    while sum(widths.values()) > room and max(widths[c] for c in names) > 6:
        widest = max(names, key=lambda c: widths[c])
        widths[widest] -= 1
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for c in columns:
        table.add_column(
            c,
            no_wrap=True,
            overflow="ellipsis",
            width=widths[c],
            justify="right" if c in ("score", "cases", "p50", "cost") else "left",
        )
    for cells in fitted:
        name, _, version = cells["prompt"].rpartition(" ")
        if name and len(cells["prompt"]) > widths["prompt"]:  # keep the version in sight
            keep = max(widths["prompt"] - len(version) - 2, 1)
            cells["prompt"] = f"{name[:keep]}… {version}"
        table.add_row(*(Text(cells[c], style=_STYLE.get(cells[c], "")) for c in columns))
    out.print(table)


@app.command("show")
def show_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    results: bool = typer.Option(False, "--results", help="Also list every case."),
    failed: bool = typer.Option(False, "--failed", help="List only failed and errored cases."),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (the run, its metrics and results)."
    ),
) -> None:
    """One run: summary, breakdown and (optionally) its cases."""
    store = open_store()
    run = named_run(store, run_id)
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
    from evalbook.executor.lease import owner_gone

    if queue.interrupted(store, [run.id], gone=owner_gone):
        console.print(
            f"[yellow]interrupted[/]: the process executing this run is gone. Continue it with"
            f" [bold]evalbook resume {run.id[:8]}[/] or end it with"
            f" [bold]evalbook runs cancel {run.id[:8]}[/]"
        )
    if results or failed:
        print_cases(
            r for r in store.iter_results(run.id) if not failed or r.status.value != "passed"
        )


#: The widest a listing's case column gets (longer ids end in "…").
CASE_WIDTH = 32
#: The characters of an output or error a listing shows.
OUTPUT_CHARS = 200
_STATUS_STYLE = {"passed": "green", "failed": "red", "error": "yellow"}


def print_cases(results: Iterable[Result]) -> None:
    """One line per case: id, epoch, status, score, latency, the output (or the error).

    Lines, not a table: a table measures and wraps every cell, and took ~1 ms a case (20
    s for a run of 20,000). On a terminal each line is cut to its width; piped, it is
    written whole. Ids and outputs are :func:`escaped`, and printed as text."""
    rows = [
        (
            escaped(r.case_id),
            str(r.epoch),
            r.status.value,
            fmt_score(r.score),
            "cached" if r.cached else fmt_ms(r.latency_ms),
            escaped((r.error_message or r.output or "")[:OUTPUT_CHARS]),
        )
        for r in results
    ]
    width = min(max((cell_len(row[0]) for row in rows), default=4), CASE_WIDTH)
    width = max(width, 4)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("cases\n", "italic")  # (the title the tables above have)
    text.append(f"{'case':<{width}}  epoch  status  score   latency  output / error\n", "bold")
    for case, epoch, status, score, latency, output in rows:
        if cell_len(case) > width:
            case = set_cell_size(case, width - 1) + "…"
        text.append(case + " " * (width - cell_len(case)) + f"  {epoch:>5}  ")
        text.append(f"{status:<6}", _STATUS_STYLE[status])
        text.append(f"  {score:>5}  {latency:>8}  {output}\n")
    text.rstrip()
    console.print(text, soft_wrap=not console.is_terminal)


@app.command("cancel")
def cancel_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
) -> None:
    """End a run: a run being executed stops within seconds, keeping its finished cases; an
    interrupted one is summarised from what it recorded and marked canceled."""
    import asyncio

    from evalbook.executor.lease import cancel_run

    store = open_store()
    run = named_run(store, run_id)
    if run.status.finished:
        console.print(f"run {run.id[:8]} already ended {run.status.value}; nothing to cancel")
        return
    after = asyncio.run(cancel_run(store, run.id))
    if after.status.finished:
        console.print(f"run {run.id[:8]} {after.status.value}: {after.stop_reason or ''}".rstrip())
    else:
        console.print(f"run {run.id[:8]}: cancel requested; its process stops it within seconds")
