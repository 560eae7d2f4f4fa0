"""``evalbook gate``: fail CI when a candidate run regresses against a baseline.

Both runs are named by id, ``latest`` (of the suite and prompt) or ``alias:NAME``; the
baseline rule is taken relative to the candidate (an older run, never itself).
"""

from __future__ import annotations

from pathlib import Path

import typer

from evalbook.cli import gate_options as opt
from evalbook.cli.store import open_store
from evalbook.gate import gate


def gate_command(
    candidate: str = typer.Option(
        "latest", "--candidate", help="Candidate run: id, latest, or alias:NAME."
    ),
    baseline: str = typer.Option(
        "latest", "--baseline", help="Baseline run: id, latest (the run before), or alias:NAME."
    ),
    suite: str | None = typer.Option(None, "--suite", help="Suite id (for a latest candidate)."),
    prompt: str | None = typer.Option(None, "--prompt", help="Prompt name 'latest' must match."),
    min_score: float | None = opt.MIN_SCORE,
    max_drop: float | None = opt.MAX_DROP,
    max_metric_drop: float | None = opt.MAX_METRIC_DROP,
    metric: list[str] = opt.METRIC,
    max_new_failures: int | None = opt.MAX_NEW_FAILURES,
    alpha: float | None = opt.ALPHA,
    noise_floor: float | None = opt.NOISE_FLOOR,
    noise: Path | None = opt.NOISE,
    markdown: Path | None = opt.MARKDOWN,
    junit: Path | None = opt.JUNIT,
    verdict_path: Path | None = opt.VERDICT,
    as_json: bool = typer.Option(False, "--json", help="Print the JSON verdict."),
) -> None:
    """Compare a candidate run with a baseline; exit 100 when a gate rule fails.

    With no rule given: no metric (overall or any scorer) may drop significantly at
    alpha 0.05."""
    rules = opt.build_rules(
        min_score=min_score,
        max_drop=max_drop,
        max_metric_drop=max_metric_drop,
        metric=metric,
        max_new_failures=max_new_failures,
        alpha=alpha,
        noise_floor=noise_floor,
        noise=noise,
    )
    store = open_store()
    verdict = gate(
        store, rules=rules, candidate=candidate, baseline=baseline, suite_id=suite,
        prompt_name=prompt,
    )  # fmt: skip
    code = opt.emit(
        verdict, markdown=markdown, junit=junit, verdict_path=verdict_path, as_json=as_json
    )
    raise typer.Exit(code)
