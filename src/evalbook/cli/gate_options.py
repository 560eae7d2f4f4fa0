"""The gate's rule and output options, shared by ``evalbook gate`` and ``evalbook run
--gate-against`` so both read the same flags the same way, and the verdict's outputs.

Outputs: a console summary; Markdown to ``--markdown FILE`` and, when set, appended to
``$GITHUB_STEP_SUMMARY`` (the job summary of GitHub Actions); JUnit XML to ``--junit``;
the JSON verdict to ``--verdict`` (or stdout with ``--json``). Exit code: 0 pass, 100
the gate failed (1 for errors, raised elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the gate (numpy, the comparison) loads when a gate is asked for
    # rich too: `evalbook run` imports this module for its flags, and sends its first
    # request before it prints anything (tests/cli/test_run_startup.py)
    from rich.console import Console

    from evalbook.gate import GateRules, Verdict

MIN_SCORE = typer.Option(None, "--min-score", help="Candidate score must reach this.")
MAX_DROP = typer.Option(None, "--max-drop", min=0, help="Max drop of the overall score.")
MAX_METRIC_DROP = typer.Option(
    None, "--max-metric-drop", min=0, help="Max drop of every scorer's mean."
)
METRIC = typer.Option(
    [], "--metric", help="Per-metric limits: NAME:max-drop=X[,min=Y] (repeatable)."
)
MAX_NEW_FAILURES = typer.Option(
    None, "--max-new-failures", min=0, help="Max cases that passed before and fail now."
)
ALPHA = typer.Option(
    None, "--alpha", min=0.0001, max=0.5, help="Fail a drop rule only if significant at alpha."
)
NOISE_FLOOR = typer.Option(None, "--noise-floor", min=0, help="Drops up to this are noise.")
NOISE = typer.Option(None, "--noise", help="Per-metric noise floors from `evalbook noise -o FILE`.")
MARKDOWN = typer.Option(None, "--markdown", help="Write the Markdown summary here.")
JUNIT = typer.Option(None, "--junit", help="Write JUnit XML here.")
VERDICT = typer.Option(None, "--verdict", help="Write the JSON verdict here.")


def build_rules(
    *,
    min_score: float | None,
    max_drop: float | None,
    max_metric_drop: float | None,
    metric: list[str],
    max_new_failures: int | None,
    alpha: float | None,
    noise_floor: float | None,
    noise: Path | None,
) -> GateRules:
    from evalbook.analysis.history.noise import load_noise
    from evalbook.gate import GateRules, parse_metric_rule

    return GateRules(
        min_score=min_score,
        max_drop=max_drop,
        max_metric_drop=max_metric_drop,
        metrics=[parse_metric_rule(m) for m in metric],
        max_new_failures=max_new_failures,
        alpha=alpha,
        noise_floor=noise_floor,
        noise=load_noise(noise) if noise else None,
    )


def emit(
    verdict: Verdict,
    *,
    markdown: Path | None,
    junit: Path | None,
    verdict_path: Path | None,
    as_json: bool,
    out: Console | None = None,
) -> int:
    """Print and write the verdict (on ``out``, default stdout); return the exit code."""
    from evalbook.cli.console import console

    out = console if out is None else out
    from evalbook.gate import to_json, to_junit, to_markdown

    text = to_markdown(verdict)
    if markdown:
        markdown.write_text(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text)
    if junit:
        junit.write_text(to_junit(verdict))
    if verdict_path:
        verdict_path.write_text(to_json(verdict))
    if as_json:
        out.print_json(to_json(verdict))
    else:
        print_verdict(verdict, out)
    return verdict.exit_code


def print_verdict(verdict: Verdict, out: Console | None = None) -> None:
    from rich.table import Table  # not loaded by `evalbook run` before its first request

    from evalbook.cli.compare_view import print_metrics
    from evalbook.cli.console import console, err_console, shown

    out = console if out is None else out

    c = verdict.comparison
    for warning in c.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    if out is console:
        print_metrics([c])
    table = Table(
        title=f"gate: baseline {c.baseline.id[:8]} → candidate {c.candidate.id[:8]}",
        title_justify="left",
    )
    table.add_column("rule")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for o in verdict.rules:
        table.add_row(o.rule, "[green]pass[/]" if o.passed else "[bold red]FAIL[/]", o.detail)
    out.print(table)
    if verdict.newly_failing:
        ids = ", ".join(f.case_id for f in verdict.newly_failing[:10])
        more = len(verdict.newly_failing) - 10
        tail = f", … {more} more" if more > 0 else ""
        out.print(shown(f"newly failing: {len(verdict.newly_failing)} ({ids}{tail})"))
    if verdict.passed:
        out.print("[bold green]gate passed[/]")
    else:
        why = ", ".join(verdict.failing_metrics) or "newly failing cases"
        out.print(f"[bold red]gate failed[/]: {why}")
