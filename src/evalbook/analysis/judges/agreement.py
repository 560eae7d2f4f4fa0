"""Judge against human, inside one run: can the ``llm_judge`` stand in for the reviewers?

Whenever a run has both an ``llm_judge`` score and human feedback scores on the same
criterion, the two are compared result by result: Krippendorff's interval alpha of the
judge's normalised score against the reviewers' (each reviewer's latest score, averaged
and normalised to [0, 1] by the ``human`` scorer's scale), and Cohen's kappa of the
pass/fail verdicts both would give at the judge's own threshold. A judge record is "on
the same criterion" as feedback named ``N`` when the record is named ``N`` or its
evidence names criterion ``N`` (a rubric judge's per-criterion records).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from evalbook.analysis.feedback import HumanScales, criterion_of, normalise
from evalbook.core.feedback import latest_scores
from evalbook.stats import agreement
from evalbook.storage.feedback import KindRecord, list_feedback, records_of_kind
from evalbook.storage.store import Store

__all__ = ["JudgeHumanAgreement", "feedback_agreement"]

#: The pass bar when a judge record has no threshold of its own.
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class JudgeHumanAgreement:
    """Judge-vs-human agreement on one criterion over the ``n`` results both scored.

    ``alpha`` is ``agreement.judge_human_agreement`` (value ``None`` below two results);
    ``pass_kappa`` is ``None`` below two results too. ``judge_mean``/``human_mean`` are
    the normalised means over those results (their difference is the judge's bias).
    ``problem`` says why nothing was computed, when something prevents it."""

    criterion: str
    judges: tuple[str, ...]
    n: int
    alpha: agreement.Agreement | None
    pass_kappa: float | None
    judge_mean: float | None
    human_mean: float | None
    problem: str | None = None


def feedback_agreement(
    store: Store, run_id: str, *, resamples: int = 1000
) -> dict[str, JudgeHumanAgreement]:
    """Per feedback name that some ``llm_judge`` record of the run also scores, sorted by
    name; empty when the run has no human scores or no judge. ``run_id`` may be a prefix."""
    run_id = store.get_run(run_id).id
    latest = latest_scores(list_feedback(store, run_id))
    if not latest:
        return {}
    judges = records_of_kind(store, run_id, ["llm_judge"])
    scales = HumanScales.of_run(store, run_id)
    human: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in latest:
        if row.score is not None:
            human[row.name][row.result_id].append(row.score)
    out = {}
    for name in sorted(human):
        matching = [
            j
            for j in judges
            if j.score is not None and j.error is None and name in (j.name, criterion_of(j))
        ]
        if matching:
            out[name] = _compare(name, matching, human[name], scales, resamples)
    return out


def _compare(
    name: str,
    judge_records: list[KindRecord],
    human_raw: dict[str, list[float]],
    scales: HumanScales,
    resamples: int,
) -> JudgeHumanAgreement:
    judge_names = tuple(sorted({r.name for r in judge_records}))
    by_result: dict[str, list[KindRecord]] = defaultdict(list)
    for record in judge_records:
        by_result[record.result_id].append(record)
    judge_scores: list[float] = []
    human_scores: list[float] = []
    judge_pass: list[bool] = []
    human_pass: list[bool] = []
    for result_id, records in by_result.items():
        raw = human_raw.get(result_id)
        if not raw:
            continue
        scale = scales.scale(result_id, name)
        if scale is None and any(not 0.0 <= s <= 1.0 for s in raw):
            problem = (
                f"human scores of {name!r} fall outside [0, 1] and the run has no human"
                " scorer giving their scale, so they cannot be compared with the judge's"
            )
            return JudgeHumanAgreement(name, judge_names, 0, None, None, None, None, problem)
        h = sum(normalise(s, scale) for s in raw) / len(raw)
        j = sum(r.score for r in records if r.score is not None) / len(records)
        threshold = records[0].threshold if records[0].threshold is not None else DEFAULT_THRESHOLD
        judge_scores.append(j)
        human_scores.append(h)
        judge_pass.append(j >= threshold)
        human_pass.append(h >= threshold)
    n = len(judge_scores)
    if n == 0:
        return JudgeHumanAgreement(
            name, judge_names, 0, None, None, None, None, "no result has both scores yet"
        )
    alpha = agreement.judge_human_agreement(judge_scores, human_scores, resamples=resamples)
    kappa = agreement.pass_kappa(judge_pass, human_pass) if n >= 2 else None
    return JudgeHumanAgreement(
        criterion=name,
        judges=judge_names,
        n=n,
        alpha=alpha,
        pass_kappa=kappa,
        judge_mean=sum(judge_scores) / n,
        human_mean=sum(human_scores) / n,
    )
