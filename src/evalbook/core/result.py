"""One graded case inside a run, with every attempt and every score.

Their validators are built when first used (``_DEFERRED``): a result exists only once a
model has answered, and ``evalbook run`` sends its first requests before any is built
(``tests/cli/test_run_startup.py``)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from evalbook.core.messages import Message
from evalbook.core.suite import ScorerKind

_DEFERRED = ConfigDict(extra="forbid", defer_build=True)


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

    model_config = _DEFERRED

    number: int
    started_at: datetime
    duration_ms: float
    outcome: str  # ok | rate_limit | transient | fatal | timeout | canceled
    error_type: str | None = None
    message: str | None = None
    status_code: int | None = None
    retry_after: float | None = None
    waited_ms: float = 0.0
    #: A failed attempt's trace file (browser provider), under ``$EVALBOOK_HOME``.
    trace_path: str | None = None


class BlobRef(BaseModel):
    """Bytes kept once in the store's ``blobs`` table, named by their sha256.

    A fresh reference (:meth:`of`) carries its bytes in memory until the result is saved;
    a reference read back from the store carries only the hash: the bytes are served by
    ``GET /api/runs/{run_id}/results/{case_id}/evidence/{name}``.
    """

    model_config = _DEFERRED

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str
    size: int = Field(ge=0)
    _data: bytes | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, data: bytes, media_type: str) -> BlobRef:
        ref = cls(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, size=len(data))
        ref._data = data
        return ref

    @property
    def data(self) -> bytes | None:
        """The bytes, while they have not been stored yet (``None`` once read back)."""
        return self._data


class ProviderEvidence(BaseModel):
    """What the system under test showed besides its answer, kept with the result: for a
    model behind a website, the page's address and title, a screenshot (a blob), an
    excerpt of its final HTML (model output: escape it wherever it is shown), and, when
    the call failed, the path of a Playwright trace file under ``$EVALBOOK_HOME``."""

    model_config = _DEFERRED

    source: str
    url: str | None = None
    title: str | None = None
    screenshot: BlobRef | None = None
    html_excerpt: str | None = None
    trace_path: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    def blobs(self) -> dict[str, BlobRef]:
        """The blob references by name (``screenshot``), for storage and the API."""
        return {"screenshot": self.screenshot} if self.screenshot is not None else {}


class Evidence(BaseModel):
    """Why a scorer decided as it did. The first four fields are the interchange record's
    evidence; ``details`` holds structured facts of our own (what an ``extract:``
    pipeline pulled out of the output) and is stored, but not exported."""

    model_config = _DEFERRED

    rationale: str | None = None
    judge_model: str | None = None
    trace_id: str | None = None
    retrieved_context: list[str] | None = None
    details: dict[str, Any] | None = None


class ScoreRecord(BaseModel):
    """The verdict of one scorer on one result."""

    model_config = _DEFERRED

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

    model_config = _DEFERRED

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
    #: Evidence from the provider (a browser page's screenshot, HTML, trace).
    provider_evidence: ProviderEvidence | None = None
    created_at: datetime

    @property
    def passed(self) -> bool:
        return self.status is ResultStatus.passed
