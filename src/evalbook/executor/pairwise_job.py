"""``judge_pairwise``: a candidate run against a baseline run, judged pair by pair.

Why pairwise: a rubric grade drifts with the judge's mood, but "which of these two is
better?" is a judgment judges make far more consistently. Its weakness is position bias
— many judges prefer whichever answer they read first — so every pair is judged in both
orders and only a preference that survives the swap counts (``core/pairwise.py``); the
statistics (``analysis/pairwise.py``) say how often the judge followed the slot instead,
and whether it rewarded length.

The runs are named as ``evalbook compare`` names them (id, id prefix, ``latest``,
``alias:NAME``; the baseline's rule is taken relative to the candidate). The comparison
is recorded (``storage/pairwise.py``) with every judgment, the judge's pinned model
config (temperature 0, seed 0), the template's ``name@version`` and the summary.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalbook.core.pairwise import PairwiseComparison
from evalbook.core.run import RunRecord, RunStatus
from evalbook.errors import ConfigError, UserError
from evalbook.executor.pairwise import JudgingTotals, PairJudge, ProgressSink, judge_pairs
from evalbook.executor.retry import RetryPolicy
from evalbook.providers.registry import PROVIDERS
from evalbook.scorers.judges.llm_judge import DEFAULT_JUDGE_MAX_TOKENS, judge_config
from evalbook.scorers.judges.prompts import (
    CRITERIA,
    PAIRWISE_TEMPLATES,
    Criterion,
    JudgeTemplate,
    render_judge,
    resolve_template,
)
from evalbook.stats.pairwise import PairwiseSummary, summarize_pairs
from evalbook.storage.pairwise import create_comparison, finish_comparison, get_comparison
from evalbook.storage.run_refs import resolve_run
from evalbook.storage.store import Store

__all__ = ["PairwiseResult", "judge_pairwise", "pairwise_result", "resolve_criterion"]

Status = Literal["running", "completed", "failed", "canceled"]


class PairwiseResult(BaseModel):
    """A recorded pairwise comparison: what was judged, how, the statistics
    (``summary``, ``None`` until it completes) and what the judge cost."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: Status
    baseline_run_id: str
    candidate_run_id: str
    judge: str
    criterion: str
    criterion_description: str = ""
    template: str
    created_at: datetime
    summary: PairwiseSummary | None = None
    paired: int = 0
    only_in_baseline: int = 0
    only_in_candidate: int = 0
    skipped: int = 0
    judge_calls: int = 0
    cached_replies: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None

    def stored(self) -> dict[str, Any]:
        """What the comparison row's ``summary`` column keeps (the rest has columns)."""
        columns = {"id", "baseline_run_id", "candidate_run_id", "criterion", "template"}
        return self.model_dump(mode="json", exclude=columns | {"judge", "created_at"})


def resolve_criterion(
    criterion: str | Criterion | dict[str, Any], description: str | None = None
) -> Criterion:
    """A built-in criterion by name, or your own (a name with a ``description``, a
    mapping, or a :class:`Criterion`)."""
    try:
        if isinstance(criterion, Criterion):
            return criterion
        if isinstance(criterion, dict):
            return Criterion.model_validate(criterion)
        if description:
            known = CRITERIA.get(criterion)
            reference = known.reference if known is not None else False
            return Criterion(name=criterion, description=description, reference=reference)
    except ValidationError as exc:
        raise UserError(f"criterion {criterion!r}: {exc.errors()[0]['msg']}") from None
    if criterion not in CRITERIA:
        raise UserError(
            f"unknown criterion {criterion!r}: describe your own (a description, e.g."
            f" --criterion-description TEXT) or use a built-in: {', '.join(CRITERIA)}"
        )
    return CRITERIA[criterion]


async def judge_pairwise(
    store: Store,
    baseline: str | RunRecord,
    candidate: str | RunRecord,
    *,
    judge: str | dict[str, Any],
    criterion: str | Criterion | dict[str, Any] = "helpfulness",
    template: str | dict[str, Any] | JudgeTemplate = "pairwise",
    concurrency: int = 8,
    use_cache: bool = True,
    retry: RetryPolicy | None = None,
    on_progress: ProgressSink | None = None,
    confidence: float = 0.95,
    suite_id: str | None = None,
) -> PairwiseResult:
    """Judge ``candidate`` against ``baseline`` case by case, in both orders, record the
    comparison and return it with its statistics."""
    base, cand = _resolve_runs(store, baseline, candidate, suite_id)
    judging = _judging(judge, criterion, template)
    record = create_comparison(
        store,
        baseline_run_id=base.id,
        candidate_run_id=cand.id,
        criterion=judging.criterion.name,
        judge=judging.config.model_dump(mode="json"),
        template=judging.template.id,
    )
    result = _result(record, judging, "running")
    result.warnings = _warnings(base, cand)
    try:
        totals = await judge_pairs(
            store,
            record.id,
            base.id,
            cand.id,
            judging,
            concurrency=concurrency,
            use_cache=use_cache,
            retry=retry,
            on_progress=on_progress,
        )
    except BaseException as exc:
        stopped = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        result.status = "canceled" if stopped else "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        finish_comparison(store, record.id, result.stored())
        raise
    _fill(result, totals, confidence)
    finish_comparison(store, record.id, result.stored())
    return result


def pairwise_result(store: Store, comparison_id: str | PairwiseComparison) -> PairwiseResult:
    """A recorded comparison (by id or unique id prefix) as :class:`PairwiseResult`."""
    record = (
        comparison_id
        if isinstance(comparison_id, PairwiseComparison)
        else get_comparison(store, comparison_id)
    )
    stored = {"status": "running", **record.summary}
    return PairwiseResult.model_validate(
        {
            **stored,
            "id": record.id,
            "baseline_run_id": record.baseline_run_id,
            "candidate_run_id": record.candidate_run_id,
            "judge": _spec(record.judge),
            "criterion": record.criterion,
            "template": record.template,
            "created_at": record.created_at,
        }
    )


def _resolve_runs(
    store: Store, baseline: str | RunRecord, candidate: str | RunRecord, suite_id: str | None
) -> tuple[RunRecord, RunRecord]:
    cand = (
        candidate
        if isinstance(candidate, RunRecord)
        else resolve_run(store, candidate, suite_id=suite_id)
    )
    base = (
        baseline
        if isinstance(baseline, RunRecord)
        else resolve_run(store, baseline, suite_id=suite_id, relative_to=cand)
    )
    if base.id == cand.id:
        raise UserError(f"run {cand.id} is compared with itself; give two different runs")
    return base, cand


def _judging(
    judge: str | dict[str, Any],
    criterion: str | Criterion | dict[str, Any],
    template: str | dict[str, Any] | JudgeTemplate,
) -> PairJudge:
    """The judge's pinned config, the criterion and the template — checked before any
    record is written: a bad judge, criterion or template fails here, once."""
    try:
        config = judge_config(judge, temperature=0.0, seed=0, max_tokens=DEFAULT_JUDGE_MAX_TOKENS)
        chosen = resolve_template(template, PAIRWISE_TEMPLATES)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(str(exc)) from None
    PROVIDERS.get(config.provider)  # an unknown provider fails here, with suggestions
    resolved = resolve_criterion(criterion)
    probe = {
        "input": "?",
        "reference": None,
        "criterion": resolved.model_dump(),
        "first": "a",
        "second": "b",
    }
    render_judge(chosen, probe)  # a template with an unknown variable raises here
    return PairJudge(config=config, template=chosen, criterion=resolved)


def _result(record: PairwiseComparison, judging: PairJudge, status: Status) -> PairwiseResult:
    return PairwiseResult(
        id=record.id,
        status=status,
        baseline_run_id=record.baseline_run_id,
        candidate_run_id=record.candidate_run_id,
        judge=judging.config.spec,
        criterion=judging.criterion.name,
        criterion_description=judging.criterion.description,
        template=record.template,
        created_at=record.created_at,
    )


def _fill(result: PairwiseResult, totals: JudgingTotals, confidence: float) -> None:
    result.status = "completed"
    result.summary = summarize_pairs(totals.judged, confidence)
    result.paired = totals.paired
    result.only_in_baseline = totals.only_in_baseline
    result.only_in_candidate = totals.only_in_candidate
    result.skipped = totals.skipped
    result.judge_calls = totals.judge_calls
    result.cached_replies = totals.cached_replies
    result.input_tokens = totals.input_tokens
    result.output_tokens = totals.output_tokens
    result.cost_usd = totals.cost_usd
    if totals.only_in_baseline or totals.only_in_candidate:
        result.warnings.append(
            f"{totals.only_in_baseline} case(s) only in the baseline and"
            f" {totals.only_in_candidate} only in the candidate; judged the {totals.paired}"
            " both have"
        )
    if totals.skipped:
        result.warnings.append(
            f"{totals.skipped} pair(s) skipped: a run errored on the case or has no output"
        )
    errors = result.summary.errors
    if errors:
        result.warnings.append(
            f"the judge gave no verdict on {errors} pair(s); they count as errors, not ties"
        )


def _warnings(base: RunRecord, cand: RunRecord) -> list[str]:
    out = []
    if base.suite_id != cand.suite_id:
        out.append(f"the runs are of different suites ({base.suite_id!r} vs {cand.suite_id!r})")
    for run in (base, cand):
        if run.status is not RunStatus.completed:
            out.append(f"run {run.id[:8]} is {run.status.value}: its results may be partial")
    return out


def _spec(judge: dict[str, Any]) -> str:
    provider, name = judge.get("provider"), judge.get("name")
    return f"{provider}:{name}" if provider and name else str(judge)
