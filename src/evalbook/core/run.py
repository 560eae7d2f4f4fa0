"""The run record: one reading of a suite, kept forever (seed 000's EvalRun node)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from evalbook.core.suite import DerivedMetric


class RunStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.completed, RunStatus.failed, RunStatus.canceled)


#: Items a run keeps in flight unless told otherwise.
DEFAULT_CONCURRENCY = 8


class RunCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: int = 0
    passed: int = 0
    failed: int = 0
    errored: int = 0
    cached: int = 0


class RunOptions(BaseModel):
    """How the run was executed; recorded, but not part of any identity."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1)
    epochs: int = Field(default=1, ge=1)
    case_ids: list[str] | None = None
    max_cost: float | None = Field(default=None, ge=0)
    use_cache: bool = True
    #: Attempts per model call; ``None``: as many as ``retry_budget_s`` allows.
    max_attempts: int | None = Field(default=None, ge=1)
    #: Seconds one call may spend on retryable failures (waits included) before its case
    #: errors: rate limits and 5xx cost time, not cases.
    retry_budget_s: float = Field(default=600.0, gt=0)
    #: The most errored cases (percent of all) a run may have and still pass. Render
    #: errors are defects of the suite: any one fails the run, whatever this says.
    max_error_rate: float = Field(default=0.0, ge=0, le=100)
    #: The suite's ``derived_metrics:`` (how to report, not part of the suite's hash), kept
    #: with the run so that whoever finishes it (a worker, a fleet, a resume, a re-score)
    #: computes them into ``metrics["derived"]``. Left out of the record when empty.
    derived_metrics: list[DerivedMetric] = Field(default_factory=list)
    #: The most items the run could keep in flight when that is fewer than
    #: ``concurrency``: the model endpoint's ``max_connections`` (its config's, or all an
    #: embedded model takes), set when the run is recorded. Left out when ``None``.
    in_flight: int | None = Field(default=None, ge=1)

    #: The options left out of the record when empty (``None``, no entries).
    LEFT_OUT_WHEN_EMPTY: ClassVar[frozenset[str]] = frozenset({"derived_metrics", "in_flight"})

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        for name in self.LEFT_OUT_WHEN_EMPTY:
            if not getattr(self, name):
                out.pop(name, None)
        return out


class RunRecord(BaseModel):
    """A run row. The first block holds the fields every node of the product graph has
    (id, type, title, …) and those of an eval run, as the interchange format names them."""

    model_config = ConfigDict(extra="forbid")

    id: str
    type: str = "eval_run"
    title: str
    description: str | None = None
    status: RunStatus = RunStatus.pending
    tags: list[str] = Field(default_factory=list)
    run_date: str | None = None
    score: float | None = None
    passed: bool | None = None
    duration_ms: float | None = None
    token_count: int | None = None
    input_token_count: int | None = None
    output_token_count: int | None = None
    cost: float | None = None
    error_rate: float | None = None  # percentage of cases that errored (0–100), as in seed 000
    feedback_scores: str | None = None

    alias: str | None = None
    label: str | None = None
    experiment_id: str | None = None
    suite_id: str
    suite_name: str
    suite_version: str
    suite_hash: str
    prompt_name: str
    prompt_version: int
    prompt_hash: str
    model: dict[str, Any]
    model_hash: str
    #: The model tier the run asked for (``tier:standard``); ``model`` is what it became.
    tier: str | None = None
    threshold: float
    counts: RunCounts = Field(default_factory=RunCounts)
    options: RunOptions = Field(default_factory=RunOptions)
    metrics: dict[str, Any] = Field(default_factory=dict)
    stop_reason: str | None = None
    resumed_from: str | None = None
    #: The run whose outputs this run re-scored (no model was called for it).
    rescored_from: str | None = None
    #: What judges (llm_judge scorers) spent, apart from ``cost`` of the system under test.
    judge_cost: float | None = None
    judge_token_count: int | None = None
    #: The server workspace that owns the run (``default`` outside a server).
    workspace_id: str = "default"
    archived_at: datetime | None = None
    evalbook_version: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
