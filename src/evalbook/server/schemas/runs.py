"""Runs, their results, feedback and metrics on the wire."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from evalbook.core.feedback import MAX_COMMENT, Feedback
from evalbook.core.result import Result
from evalbook.core.run import RunRecord
from evalbook.core.trusted import built
from evalbook.executor.estimate import Estimate, JudgeEstimate
from evalbook.server.schemas.common import INT32, Page, Strict
from evalbook.server.schemas.models import ModelIn
from evalbook.storage.queue import is_interrupted
from evalbook.storage.rows import as_utc, run_fields_reader
from evalbook.storage.runs import Gone, WorkspaceRun, workspace_run
from evalbook.storage.stored_changes import StoredChange

__all__ = [
    "CriterionFeedbackOut",
    "DerivedMetricIn",
    "EstimateOut",
    "FeedbackIn",
    "FeedbackList",
    "JudgeEstimateOut",
    "JudgeIn",
    "MetricOut",
    "ResultOut",
    "ResultPage",
    "RunCreate",
    "RunMetrics",
    "RunOut",
    "RunPage",
    "StoredChangeOut",
]

_Name = Field(default=None, min_length=1, max_length=200)
_Tag = Annotated[str, Field(min_length=1, max_length=100)]
_CaseId = Annotated[str, Field(min_length=1, max_length=300)]


class DerivedMetricIn(Strict):
    """A run metric computed from the run's named scores when it ends (a suite file's
    ``derived_metrics:`` entry): arithmetic over scorer names, ``__count`` and earlier
    metrics. A suite registered on the server is stored as its hashed definition, which
    leaves these out, so a run request names the ones it wants."""

    name: str = Field(min_length=1, max_length=200)
    expression: str = Field(min_length=1, max_length=2000)

    @field_validator("expression")
    @classmethod
    def _arithmetic(cls, value: str) -> str:
        from evalbook.stats.expression import ExpressionError, parse_expression

        try:
            parse_expression(value)
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return value


class JudgeIn(Strict):
    """An LLM judge for this run: ``model`` grades every output on ``rubric`` (one
    criterion, scored 1–10) or on built-in ``criteria`` (e.g. ``faithfulness``,
    ``concision``); give one of the two. The run uses a version of the suite with this
    judge added to its scorers (``<version>+judge-<hash>``, registered at launch)."""

    model: ModelIn
    rubric: str | None = Field(default=None, min_length=1, max_length=10_000)
    criteria: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=20
    )


class RunCreate(Strict):
    """Start a run of one of the workspace's suites. ``suite_version`` defaults to the
    version registered last; ``prompt_version`` to the suite's highest; ``cases`` to all."""

    suite_id: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_.-]+$")
    suite_version: str | None = Field(default=None, min_length=1, max_length=100)
    model: ModelIn
    prompt_version: int | None = Field(default=None, ge=1, le=INT32)
    cases: list[_CaseId] | None = Field(default=None, min_length=1, max_length=100_000)
    epochs: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=8, ge=1, le=64)
    max_cost: float | None = Field(default=None, ge=0)
    use_cache: bool = True
    #: Attempts per model call; unset: as many as ``retry_budget_s`` allows.
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    #: Seconds one call may spend on retryable failures (waits included).
    retry_budget_s: float = Field(default=600.0, gt=0, le=86_400)
    #: The most errored cases (percent of all) the run may have and still pass; render
    #: errors always fail it.
    max_error_rate: float = Field(default=0.0, ge=0, le=100)
    alias: str | None = _Name
    label: str | None = _Name
    experiment_id: str | None = _Name
    tags: list[_Tag] | None = Field(default=None, max_length=50)
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)
    judge: JudgeIn | None = None
    #: Computed into the run's ``metrics["derived"]`` when it completes.
    derived_metrics: list[DerivedMetricIn] | None = Field(default=None, max_length=100)


class JudgeEstimateOut(BaseModel):
    """One judge model's calls over the run: every case's judge scorers × epochs."""

    model: str
    calls: int
    input_tokens: int
    max_output_tokens: int
    price_known: bool
    cost_max: float | None
    cost_typical: float | None

    @classmethod
    def of(cls, j: JudgeEstimate) -> JudgeEstimateOut:
        return cls(
            model=j.model,
            calls=j.calls,
            input_tokens=j.input_tokens,
            max_output_tokens=j.max_output_tokens,
            price_known=j.price is not None,
            cost_max=j.cost_max,
            cost_typical=j.cost_typical,
        )


class EstimateOut(BaseModel):
    """A run's pre-flight estimate (``POST /api/runs/estimate``). Costs are US dollars;
    ``None`` where a price (or, for the typical figures, history) is unknown — never 0.
    ``cost_max`` / ``cost_typical`` are the model's own; ``judge_*`` the judges' (one
    entry per judge model in ``judges``); ``total_*`` both, ``None`` when either is
    unknown."""

    cases: int
    epochs: int
    items: int
    model: str
    prompt_version: int
    input_tokens: int
    max_output_tokens: int
    typical_output_tokens: float | None
    history_runs: int
    price_known: bool
    cost_max: float | None
    cost_typical: float | None
    max_cost: float | None
    over_budget: bool
    judges: list[JudgeEstimateOut]
    judge_calls: int
    judge_price_known: bool
    judge_cost_max: float | None
    judge_cost_typical: float | None
    total_cost_max: float | None
    total_cost_typical: float | None

    @classmethod
    def of(cls, e: Estimate) -> EstimateOut:
        return cls(
            cases=e.cases,
            epochs=e.epochs,
            items=e.items,
            model=e.model,
            prompt_version=e.prompt_version,
            input_tokens=e.input_tokens,
            max_output_tokens=e.max_output_tokens,
            typical_output_tokens=e.typical_output_tokens,
            history_runs=e.history_runs,
            price_known=e.price is not None,
            cost_max=e.cost_max,
            cost_typical=e.cost_typical,
            max_cost=e.max_cost,
            over_budget=e.over_budget,
            judges=[JudgeEstimateOut.of(j) for j in e.judges],
            judge_calls=e.judge_calls,
            judge_price_known=e.judge_price_known,
            judge_cost_max=e.judge_cost_max,
            judge_cost_typical=e.judge_cost_typical,
            total_cost_max=e.total_cost_max,
            total_cost_typical=e.total_cost_typical,
        )


class RunOut(RunRecord):
    """A run record, with where it stands in the queue."""

    queued_at: datetime | None = None
    cancel_requested: bool = False
    interrupted: bool = Field(
        default=False,
        description=(
            "The run is pending or running, but the process executing it (an `evalbook run`"
            " that was killed) is gone: `status` stays as recorded until it is resumed"
            " (`evalbook resume`) or canceled (summarised from what it recorded)."
        ),
    )

    @classmethod
    def of(cls, found: WorkspaceRun) -> RunOut:
        # The run came from the store, whole and typed: not validated a second time.
        fields = {
            **found.run.__dict__,
            "queued_at": found.queued_at,
            "cancel_requested": found.cancel_requested,
            "interrupted": found.interrupted,
        }
        return built(cls, fields)


class RunPage(Page[RunOut]):
    pass


def run_out_items(rows: Sequence[Any], gone: Gone | None = None) -> list[dict[str, Any]]:
    """What :class:`RunOut` serialises of each of these whole ``runs`` rows (one result's),
    built from their columns (not the record, then the model: a list page's most costly
    part)."""
    if not rows:
        return []
    keys = rows[0]._fields
    read = run_fields_reader(keys)
    queue = operator.itemgetter(keys.index("queued_at"), keys.index("cancel_requested"))
    items = []
    for row in rows:
        fields = read(row)
        if fields is None:
            items.append(RunOut.of(workspace_run(row, gone)).model_dump(mode="json"))
            continue
        queued_at, cancel_requested = queue(row)
        fields["queued_at"] = as_utc(queued_at)
        fields["cancel_requested"] = bool(cancel_requested)
        fields["interrupted"] = is_interrupted(row, gone=gone)
        items.append(fields)
    return items


class StoredChangeOut(BaseModel):
    """A change made to a result's value to store it: the record is not what the model
    answered there (scoring saw the whole answer). ``change``: ``truncated`` (``bytes``
    over the storage ``limit``) or ``NUL replaced by U+FFFD``; ``note``: one line saying
    it, e.g. "output truncated from 40 MiB to 16 MiB when stored"."""

    field: str
    change: str
    bytes: int | None = None
    limit: int | None = None
    note: str

    @classmethod
    def of(cls, c: StoredChange) -> StoredChangeOut:
        return cls(field=c.field, change=c.change, bytes=c.bytes, limit=c.limit, note=c.note)


class ResultOut(Result):
    """A result, with what was changed in it to store it (empty: stored as it was)."""

    stored_changes: list[StoredChangeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, result: Result, changes: list[StoredChange] | None = None) -> ResultOut:
        # The result came from the store, whole and typed: not validated a second time.
        fields = {
            **result.__dict__,
            "stored_changes": [StoredChangeOut.of(c) for c in changes or []],
        }
        return built(cls, fields)


class ResultPage(Page[ResultOut]):
    pass


class FeedbackIn(Strict):
    """Human feedback on one result: a score, a label, a comment or any mix. ``name`` is
    the criterion (default: the run's ``human`` scorer's, else ``human``)."""

    case_id: str = Field(min_length=1, max_length=300)
    epoch: int = Field(default=0, ge=0, le=INT32)
    name: str | None = _Name
    score: float | None = None
    label: str | None = _Name
    comment: str | None = Field(default=None, min_length=1, max_length=MAX_COMMENT)
    author: str | None = _Name


class CriterionFeedbackOut(BaseModel):
    """Feedback under one name: the mean of each reviewer's latest score (in ``scale``),
    who reviewed, and how many results still await review."""

    name: str
    mean: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    scale: list[float] | None
    authors: dict[str, int]
    labels: dict[str, int]
    reviewed: int
    awaiting: int


class FeedbackList(Page[Feedback]):
    """Feedback rows, oldest first, and the summary over all of them."""

    summary: list[CriterionFeedbackOut]


class MetricOut(BaseModel):
    scope: str
    name: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    higher_is_better: bool


class RunMetrics(BaseModel):
    """The run's aggregates: ``summary`` as on the run record, ``metrics`` as rows."""

    run_id: str
    summary: dict[str, Any]
    metrics: list[MetricOut]


class FailuresSuiteOut(BaseModel):
    """The regression suite a run's failing cases became."""

    suite_id: str
    version: str
    name: str
    case_count: int
    created: bool = Field(description="False when this version was saved before")
