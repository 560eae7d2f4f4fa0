"""``evalbook feedback RUN CASE --score 4 --comment …`` records a review; ``evalbook feedback
RUN`` lists a run's feedback, its summary and judge-vs-human agreement."""

from __future__ import annotations

import dataclasses
import getpass
import json

import typer
from rich.table import Table
from rich.text import Text

from evalbook.analysis.feedback import (
    CriterionFeedback,
    describe_method,
    feedback_summary,
    record_feedback,
)
from evalbook.analysis.judges.agreement import JudgeHumanAgreement, feedback_agreement
from evalbook.cli.console import console, shown
from evalbook.cli.summary import fmt_score
from evalbook.errors import UserError
from evalbook.storage.feedback import list_feedback
from evalbook.storage.run_refs import RUN_HELP, named_run
from evalbook.storage.store import Store


def feedback_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    case_id: str | None = typer.Argument(
        None, help="The case reviewed; leave out to list the run's feedback."
    ),
    score: float | None = typer.Option(
        None, "--score", help="A score, in the scale of the run's human scorer ([0, 1] if none)."
    ),
    label: str | None = typer.Option(None, "--label", help="A label, e.g. good or wrong."),
    comment: str | None = typer.Option(None, "--comment", help="A comment (at most 10,000 chars)."),
    author: str | None = typer.Option(
        None, "--author", help="Who reviews (default: your user name)."
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="The criterion (default: the run's human scorer's, else 'human'); filters a list.",
    ),
    epoch: int = typer.Option(0, "--epoch", min=0, help="The epoch of the case."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record human feedback on a result (appended, never overwriting), or list it."""
    if case_id is None and (score is not None or label is not None or comment is not None):
        raise UserError("say which case the feedback is for: evalbook feedback RUN CASE …")
    if case_id is not None and score is None and not label and not comment:
        raise UserError("give the feedback: --score, --label or --comment (or several)")
    store = Store.open()
    try:
        if case_id is None:
            _list(store, run_id, name, as_json)
        else:
            _record(store, run_id, case_id, epoch, name, score, label, comment, author, as_json)
    finally:
        store.close()


def _record(
    store: Store,
    run_id: str,
    case_id: str,
    epoch: int,
    name: str | None,
    score: float | None,
    label: str | None,
    comment: str | None,
    author: str | None,
    as_json: bool,
) -> None:
    run = named_run(store, run_id)
    row = record_feedback(
        store,
        run.id,
        case_id,
        epoch=epoch,
        name=name,
        score=score,
        label=label or None,
        comment=comment or None,
        author=author or _user(),
    )
    summary = feedback_summary(store, run.id)
    if as_json:
        payload = {
            "feedback": row.model_dump(mode="json"),
            "summary": {k: dataclasses.asdict(v) for k, v in summary.items()},
            "feedback_scores": store.get_run(run.id).feedback_scores,
        }
        console.print_json(json.dumps(payload))
        return
    given = ", ".join(
        part
        for part in (
            None if row.score is None else f"score {row.score:g}",
            None if row.label is None else f"label {row.label!r}",
            None if row.comment is None else "a comment",
        )
        if part
    )
    console.print(
        Text.assemble(
            f"recorded {row.name!r} feedback on case ",
            shown(row.case_id, "bold"),
            f" (epoch {row.epoch}) of run {run.id[:8]}: ",
            shown(f"{given}, by {row.author or 'anonymous'}"),
        )
    )
    _print_summary(summary)


def _user() -> str | None:
    try:
        return getpass.getuser() or None
    except (OSError, KeyError, ImportError):  # no login name in this environment
        return None


def _list(store: Store, run_id: str, name: str | None, as_json: bool) -> None:
    run_id = named_run(store, run_id).id
    rows = list_feedback(store, run_id, name=name)
    summary = feedback_summary(store, run_id)
    agreement = feedback_agreement(store, run_id)
    if name is not None:
        summary = {k: v for k, v in summary.items() if k == name}
        agreement = {k: v for k, v in agreement.items() if k == name}
    if as_json:
        payload = {
            "run": run_id,
            "feedback": [r.model_dump(mode="json") for r in rows],
            "summary": {k: dataclasses.asdict(v) for k, v in summary.items()},
            "agreement": {k: dataclasses.asdict(v) for k, v in agreement.items()},
        }
        console.print_json(json.dumps(payload))
        return
    if not rows:
        console.print(f"no feedback on run {run_id}")
    else:
        table = Table(title="feedback", title_justify="left")
        for col in ("time", "case", "epoch", "name", "score", "label", "author", "comment"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                shown(r.case_id),
                str(r.epoch),
                shown(r.name),
                "" if r.score is None else f"{r.score:g}",
                shown(r.label or ""),
                shown(r.author or ""),
                shown((r.comment or "")[:200]),
            )
        console.print(table)
    _print_summary(summary)
    for a in agreement.values():
        console.print(_agreement_line(a))


def _print_summary(summary: dict[str, CriterionFeedback]) -> None:
    for c in summary.values():
        parts = [f"[bold]{c.name}[/]:"]
        if c.n:
            interval = (
                f" [{fmt_score(c.ci_low)}, {fmt_score(c.ci_high)}]" if c.ci_low is not None else ""
            )
            method = describe_method(c.ci_method)
            parts.append(f"mean {fmt_score(c.mean)}{interval} over {c.n} scores ({method})")
        else:
            parts.append("no scores")
        if c.scale is not None:
            parts.append(f"(scale {c.scale[0]:g}–{c.scale[1]:g})")
        if c.authors:
            parts.append("· " + ", ".join(f"{a} {n}" for a, n in c.authors.items()))
        parts.append(f"· {c.reviewed} reviewed, {c.awaiting} awaiting review")
        console.print(" ".join(parts))


def _agreement_line(a: JudgeHumanAgreement) -> str:
    head = f"judge vs human on [bold]{a.criterion}[/] ({', '.join(a.judges)}):"
    if a.problem is not None:
        return f"{head} {a.problem}"
    alpha = a.alpha
    if alpha is None or alpha.value is None:
        return f"{head} {a.n} result(s) scored by both; agreement needs at least 2"
    interval = (
        f" [{alpha.ci_low:.2f}, {alpha.ci_high:.2f}]"
        if alpha.ci_low is not None and alpha.ci_high is not None
        else ""
    )
    kappa = "—" if a.pass_kappa is None else f"{a.pass_kappa:.3f}"
    return (
        f"{head} alpha {alpha.value:.3f}{interval} ({alpha.interpretation}) · pass kappa"
        f" {kappa} · judge mean {fmt_score(a.judge_mean)} vs human {fmt_score(a.human_mean)}"
        f" over {a.n} results"
    )
