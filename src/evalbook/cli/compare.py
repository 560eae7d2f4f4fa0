"""``evalbook compare RUN_A RUN_B [RUN_C …]``: runs side by side, with honest statistics.

The first run is the baseline; every other run is compared with it case by case. Runs
may be named by id (or prefix), ``latest`` or ``alias:NAME``; ``--alias`` compares the
latest run of each alias, ``--by-alias`` lists a suite's runs grouped by alias and flags
an alias whose served model build changed. ``--case ID`` shows word-level diffs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import typer
from pydantic import BaseModel
from rich.table import Table

from evalbook.analysis.compare.diffs import case_diff
from evalbook.analysis.compare.flips import SortKey
from evalbook.analysis.compare.runs import compare_runs
from evalbook.analysis.history.aliases import AliasGroup, alias_groups, latest_by_alias
from evalbook.cli.compare_view import print_case_diff, print_flips, print_metrics, print_runs
from evalbook.cli.console import console
from evalbook.cli.store import open_store
from evalbook.cli.summary import fmt_score
from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.stats.paired import PairedTest
from evalbook.storage.run_refs import resolve_run
from evalbook.storage.store import Store


def compare_command(
    runs: list[str] = typer.Argument(
        None, metavar="RUN_A RUN_B [RUN_C …]", help="Run ids (or prefixes), latest, alias:NAME."
    ),
    alias: list[str] = typer.Option(
        [], "--alias", help="Compare the latest run of this alias (repeatable)."
    ),
    suite: str | None = typer.Option(
        None, "--suite", help="Suite id that latest, alias:NAME, --alias and --by-alias refer to."
    ),
    by_alias: bool = typer.Option(
        False, "--by-alias", help="Group the suite's runs by alias; flag served-build drift."
    ),
    case: str | None = typer.Option(
        None, "--case", help="Word-level diff of this case's outputs (and prompts)."
    ),
    epoch: int = typer.Option(0, "--epoch", min=0, help="Epoch of --case."),
    sort: str = typer.Option("delta", "--sort", help="Order flips by delta|case|section."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Flips listed per kind."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999),
    test: str = typer.Option(
        "wilcoxon", "--test", help="Test for numeric scores: wilcoxon|bootstrap."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare runs case by case: metrics with CIs and paired tests, flips, latency, cost."""
    if sort not in ("delta", "case", "section"):
        raise UserError(f"--sort {sort!r}: choose delta, case or section")
    if test not in ("wilcoxon", "bootstrap"):
        raise UserError(f"--test {test!r}: choose wilcoxon or bootstrap")
    store = open_store()
    groups = alias_groups(store, suite) if by_alias else []
    if by_alias and not groups:
        raise UserError("no completed run has an alias" + (f" in suite {suite!r}" if suite else ""))
    selected = _select(store, runs or [], alias, suite)
    if by_alias and not selected:
        selected = latest_by_alias(store, [g.alias for g in groups], suite)
    if by_alias and not as_json:
        _print_groups(groups)
    if len(selected) < 2:
        if by_alias:
            if as_json:
                console.print_json(json.dumps({"aliases": _dump(groups), "comparisons": []}))
            return
        raise UserError("compare needs two runs: give RUN_A RUN_B, or --alias twice")
    base, others = selected[0], selected[1:]
    if case is not None:
        diffs = [case_diff(store, base, other, case, epoch) for other in others]
        if as_json:
            console.print_json(json.dumps([asdict(d) for d in diffs]))
            return
        for other, diff in zip(others, diffs, strict=True):
            print_case_diff(diff, base.id, other.id)
        return
    comparisons = [
        compare_runs(store, base, other, confidence=confidence, numeric_test=PairedTest(test))
        for other in others
    ]
    if as_json:
        payload: object = _dump(comparisons)
        if by_alias:
            payload = {"aliases": _dump(groups), "comparisons": payload}
        console.print_json(json.dumps(payload))
        return
    print_runs(comparisons)
    for c in comparisons:
        for warning in c.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
    print_metrics(comparisons)
    sort_key: SortKey = sort  # type: ignore[assignment]
    for k, c in enumerate(comparisons, 1):
        if len(comparisons) > 1:
            console.print(f"[bold]candidate {k}[/] ({c.candidate.id[:8]})")
        print_flips(c, sort=sort_key, limit=limit)


def _dump(models: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in models]


def _select(
    store: Store, refs: list[str], aliases: list[str], suite: str | None
) -> list[RunRecord]:
    selected: list[RunRecord] = []
    for ref in refs:
        relative = selected[0] if selected and ref == "latest" else None
        selected.append(resolve_run(store, ref, suite_id=suite, relative_to=relative))
    if aliases:
        selected.extend(latest_by_alias(store, aliases, suite))
    return selected


def _print_groups(groups: list[AliasGroup]) -> None:
    table = Table(title="runs by alias", title_justify="left")
    for col in ("alias", "runs", "latest", "score", "model", "served builds", ""):
        table.add_column(col)
    for g in groups:
        latest = g.runs[0]
        table.add_row(
            g.alias,
            str(len(g.runs)),
            latest.run_id[:8],
            fmt_score(latest.score),
            latest.model,
            ", ".join(g.served_builds) or "—",
            "[bold yellow]served build changed[/]" if g.drift else "",
        )
    console.print(table)
