"""``evalbook judges RUN``: can this run's judges be trusted?"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from evalbook.analysis.judges.agreement import feedback_agreement
from evalbook.analysis.judges.payload import human_dict
from evalbook.analysis.judges.report import CriterionReport, judge_report
from evalbook.cli.console import console, shown
from evalbook.storage.run_refs import RUN_HELP, named_run
from evalbook.storage.store import Store


def judges_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Judge reliability per judged criterion: parse errors, means, panel agreement, cost."""
    store = Store.open()
    try:
        run = named_run(store, run_id)
        reports = judge_report(store, run.id)
        humans = feedback_agreement(store, run.id)
    finally:
        store.close()
    if as_json:
        payload = [r.as_dict() | {"human": human_dict(humans.get(r.name))} for r in reports]
        print(json.dumps(payload, indent=2))
        return
    if not reports:
        console.print(f"run {run.id} has no llm-judge scores")
        return
    table = Table(title=shown(f"judges of run {run.id[:8]} · {run.title}"))
    for column in ("criterion", "template", "scored", "errors", "mean [95% CI]", "panel α", "cost"):
        table.add_column(column, justify="left" if column in ("criterion", "template") else "right")
    for r in reports:
        table.add_row(
            shown(r.name),
            shown(r.template or "—"),
            str(r.scored),
            f"{r.errors} ({r.error_rate:.0%})" if r.error_rate is not None else "0",
            _mean(r),
            _alpha(r),
            "unknown" if r.cost_usd is None else f"${r.cost_usd:.4f}",
        )
    console.print(table)
    for r in reports:
        if len(r.member_means) > 1:
            members = ", ".join(f"{m} {v:.2f}" for m, v in r.member_means.items())
            console.print(shown(f"{r.name}: panel means {members}"))
        for model, n in r.member_errors.items():
            console.print(shown(f"{r.name}: {model} gave no usable verdict {n} time(s)", "yellow"))
        human = humans.get(r.name)
        if human is not None and human.alpha is not None and human.alpha.value is not None:
            console.print(
                shown(
                    f"{r.name}: judge vs {human.n} human review(s) α {human.alpha.value:.2f}"
                    f" ({human.alpha.interpretation})"
                )
            )


def _mean(r: CriterionReport) -> str:
    if r.mean is None:
        return "—"
    if r.ci_low is None or r.ci_high is None:
        return f"{r.mean:.3f}"
    return f"{r.mean:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"


def _alpha(r: CriterionReport) -> str:
    a = r.agreement
    if a is None or a.value is None:
        return "—"
    ci = (
        f" [{a.ci_low:.2f}, {a.ci_high:.2f}]"
        if a.ci_low is not None and a.ci_high is not None
        else ""
    )
    return f"{a.value:.2f}{ci} {a.interpretation}"
