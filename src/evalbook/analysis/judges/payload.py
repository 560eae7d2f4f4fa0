"""The judge report as data: what ``evalbook judges RUN --json`` prints and
``GET /api/runs/{id}/judges`` answers — per judged criterion the report and, where
humans reviewed the same criterion, the judge's agreement with them."""

from __future__ import annotations

from typing import Any

from evalbook.analysis.judges.agreement import JudgeHumanAgreement, feedback_agreement
from evalbook.analysis.judges.report import judge_report
from evalbook.storage.store import Store

__all__ = ["human_dict", "judges_payload"]


def human_dict(h: JudgeHumanAgreement | None) -> dict[str, Any] | None:
    if h is None:
        return None
    alpha = h.alpha
    return {
        "n": h.n,
        "alpha": None if alpha is None else alpha.value,
        "alpha_ci": None if alpha is None else [alpha.ci_low, alpha.ci_high],
        "pass_kappa": h.pass_kappa,
        "judge_mean": h.judge_mean,
        "human_mean": h.human_mean,
        "problem": h.problem,
    }


def judges_payload(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Every judged criterion of the run, as JSON-ready dicts."""
    reports = judge_report(store, run_id)
    humans = feedback_agreement(store, run_id)
    return [r.as_dict() | {"human": human_dict(humans.get(r.name))} for r in reports]
