"""``evalbook pairwise BASELINE CANDIDATE --judge MODEL``: which run's answers a judge prefers;
``evalbook pairwise list`` and ``evalbook pairwise show ID``: the comparisons recorded.

Every case both runs answered is judged twice, with the answers swapped; a preference
that does not survive the swap is a tie. The table reports wins, losses and ties, the
win rate with its interval, how often the judge followed the slot instead of the answer
(position bias) and whether the longer answer tended to win (verbosity bias).
"""

from __future__ import annotations

import asyncio
import json

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from evalbook.cli.console import console, err_console, shown
from evalbook.cli.store import open_store
from evalbook.cli.summary import fmt_cost
from evalbook.errors import UserError
from evalbook.executor.pairwise_job import (
    PairwiseResult,
    judge_pairwise,
    pairwise_result,
    resolve_criterion,
)
from evalbook.stats.pairwise import POSITION_BIAS_WARNING, PairwiseSummary
from evalbook.storage.pairwise import list_comparisons


def pairwise_command(
    baseline: str = typer.Argument(
        ...,
        metavar="BASELINE",
        help="Run id (or prefix), latest, alias:NAME; or `list`, or `show` and a comparison id.",
    ),
    candidate: str | None = typer.Argument(
        None, metavar="CANDIDATE", help="Run id (or prefix), latest, alias:NAME."
    ),
    judge: str | None = typer.Option(None, "--judge", help="Judge model, e.g. openai:gpt-4o-mini."),
    criterion: str = typer.Option(
        "helpfulness", "--criterion", help="A built-in criterion, or a name for your own."
    ),
    description: str | None = typer.Option(
        None, "--criterion-description", help="What the criterion asks (your own criterion)."
    ),
    suite: str | None = typer.Option(
        None, "--suite", help="Suite id that latest and alias:NAME refer to."
    ),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Pairs judged at once."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ask the judge again."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Judge two runs' answers pairwise, in both orders: win rate, ties, position bias.

    `evalbook pairwise list` lists the recorded comparisons (newest first; `--json`), and
    `evalbook pairwise show ID` prints one as it was recorded, without calling the judge.
    """
    if baseline in ("list", "show"):
        _recorded(baseline, candidate, as_json=as_json)
        return
    if candidate is None or judge is None:
        raise UserError(
            "evalbook pairwise BASELINE CANDIDATE --judge MODEL (or `pairwise list`,"
            " `pairwise show ID`): "
            + ("CANDIDATE is missing" if candidate is None else "--judge is missing")
        )
    chosen = resolve_criterion(criterion, description)
    store = open_store()
    progress = Progress(
        TextColumn("[bold]judging pairs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
    )
    task = progress.add_task("pairs", total=None)

    def on_progress(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        with progress:
            result = asyncio.run(
                judge_pairwise(
                    store,
                    baseline,
                    candidate,
                    judge=judge,
                    criterion=chosen,
                    concurrency=concurrency,
                    use_cache=not no_cache,
                    suite_id=suite,
                    on_progress=on_progress,
                )
            )
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
        return
    print_pairwise(result)


def _recorded(what: str, comparison_id: str | None, *, as_json: bool) -> None:
    store = open_store()
    try:
        if what == "show":
            if comparison_id is None:
                raise UserError("evalbook pairwise show ID: the comparison id is missing")
            result = pairwise_result(store, comparison_id)
            if as_json:
                console.print_json(json.dumps(result.model_dump(mode="json")))
            else:
                print_pairwise(result)
            return
        results = [pairwise_result(store, c) for c in list_comparisons(store, comparison_id)]
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in results]))
        return
    if not results:
        console.print("no pairwise comparisons recorded")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("id", "date", "status", "baseline", "candidate", "criterion", "judge", "win rate"):
        table.add_column(
            col, no_wrap=col != "judge", justify="right" if col == "win rate" else "left"
        )
    for r in results:
        s = r.summary
        table.add_row(
            r.id[:8],
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.status,
            r.baseline_run_id[:8],
            r.candidate_run_id[:8],
            shown(r.criterion),
            shown(r.judge),
            "—" if s is None or s.win_rate is None else f"{s.win_rate:.3f}",
        )
    console.print(table)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _ci(ci: tuple[float, float] | None, pct: bool = False) -> str:
    if ci is None:
        return ""
    lo, hi = ci
    return f" [{lo:.0%}, {hi:.0%}]" if pct else f" [{lo:.3f}, {hi:.3f}]"


def _rate(value: float | None, ci: tuple[float, float] | None) -> str:
    return "—" if value is None else f"{value:.3f}{_ci(ci)}"


def print_pairwise(result: PairwiseResult) -> None:
    """The comparison as a table, then its warnings."""
    s = result.summary
    table = Table(title="pairwise", show_header=False, title_justify="left", box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("comparison", f"{result.id[:8]} ({result.status})")
    table.add_row(
        "runs", f"baseline {result.baseline_run_id[:8]} · candidate {result.candidate_run_id[:8]}"
    )
    table.add_row(
        "judge", shown(f"{result.judge} · criterion {result.criterion} · {result.template}")
    )
    table.add_row(
        "pairs",
        f"{result.paired} paired · {result.skipped} skipped"
        + (f" · {s.judged} judged · [yellow]{s.errors} errors[/]" if s else ""),
    )
    if s is not None:
        _summary_rows(table, s)
    table.add_row(
        "judge cost",
        f"{fmt_cost(result.cost_usd)} · {result.judge_calls} calls"
        f" ({result.cached_replies} cached replies) · {result.input_tokens} in,"
        f" {result.output_tokens} out tokens",
    )
    console.print(table)
    for warning in result.warnings:
        console.print(Text.assemble(("warning:", "yellow"), " ", shown(warning)))
    if s is not None and s.unreliable:
        slot = s.favoured_slot or "first or second"
        console.print(
            f"[bold red]warning:[/] position bias {_pct(s.position_bias_rate)} (over"
            f" {POSITION_BIAS_WARNING:.0%}): the judge favours the {slot} slot; its verdicts"
            " are unreliable"
        )


def _summary_rows(table: Table, s: PairwiseSummary) -> None:
    table.add_row(
        "outcome",
        f"[green]{s.wins} wins[/] · [red]{s.losses} losses[/] · {s.ties} ties (candidate's view)",
    )
    table.add_row(
        "win rate", f"{_rate(s.win_rate, s.win_rate_ci)} of {s.wins + s.losses} decisive pairs"
    )
    table.add_row("score", f"{_rate(s.score, s.score_ci)} (wins + ½ ties over judged pairs)")
    table.add_row(
        "tie rate",
        f"{_pct(s.tie_rate)} ({s.inconsistent} inconsistent across the two orders)",
    )
    table.add_row(
        "position bias",
        f"{_pct(s.position_bias_rate)}{_ci(s.position_bias_ci, pct=True)} same slot in both"
        f" orders (A/A {s.first_slot_twice}, B/B {s.second_slot_twice}) · first slot picked"
        f" {_pct(s.first_position_rate)} of decisive verdicts",
    )
    mean = "—" if s.mean_length_diff is None else f"{s.mean_length_diff:+.1f}"
    median = "—" if s.median_length_diff is None else f"{s.median_length_diff:+.1f}"
    table.add_row(
        "verbosity",
        f"longer answer won {_pct(s.longer_won_rate)} of {s.longer_decisive} decisive pairs"
        f" · length diff mean {mean}, median {median} chars (candidate − baseline)",
    )
