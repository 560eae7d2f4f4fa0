"""One graded case inside a run, with every attempt and every score."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evalbook.core.messages import Message
from evalbook.core.suite import ScorerKind


class ResultStatus(StrEnum):
    passed = "passed"
    failed = "failed"
    error = "error"


class FailureReason(StrEnum):
    """Why a case did not pass: an assertion, a render assertion, or an error (promptfoo's
    ASSERT vs ERROR, plus the render stage that runs before any model call)."""

    assertion = "assert"
    render = "render"
    error = "error"


class Attempt(BaseModel):
    """One call to the provider, successful or not."""

    model_config = ConfigDict(extra="forbid")

    number: int
    started_at: datetime
    duration_ms: float
    outcome: str  # ok | rate_limit | transient | fatal | timeout | canceled
    error_type: str | None = None
    message: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    waited_ms: float = 0.0


class Evidence(BaseModel):
    """Why a scorer decided as it did. The first four fields are the interchange record's
    evidence; ``details`` holds structured facts of our own (what an ``extract:``
    pipeline pulled out of the output) and is stored, but not exported."""

    model_config = ConfigDict(extra="forbid")

    rationale: str | None = None
    judge_model: str | None = None
    trace_id: str | None = None
    retrieved_context: list[str] | None = None
    details: dict[str, Any] | None = None


class ScoreRecord(BaseModel):
    """The verdict of one scorer on one result."""

    model_config = ConfigDict(extra="forbid")

    scorer_id: str
    name: str
    type: str
    kind: ScorerKind
    score: float | None
    passed: bool | None
    label: str | None = None
    weight: float = 1.0
    threshold: float | None = None
    higher_is_better: bool = True
    evidence: Evidence = Field(default_factory=Evidence)
    error: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)
    #: What the scorer spent on its own model calls (judges); never part of the run's cost.
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class Result(BaseModel):
    """A case × epoch of a run. Its identity ``(run_id, case_id, epoch)`` gives ``id``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    run_id: str
    case_id: str
    epoch: int = 0
    status: ResultStatus
    failure_reason: FailureReason | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    messages: list[Message] = Field(default_factory=list)
    prompt: str | None = None
    output: str | None = None
    output_structured: dict[str, Any] | None = None
    expected: str | None = None
    choices: list[str] | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    scores: list[ScoreRecord] = Field(default_factory=list)
    score: float | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool = False
    served_model: str | None = None
    system_fingerprint: str | None = None
    cache_key: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    created_at: datetime

    @property
    def passed(self) -> bool:
        return self.status is ResultStatus.passed
