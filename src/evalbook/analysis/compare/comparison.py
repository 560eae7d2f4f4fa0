"""What a comparison returns: the wire form the CLI prints (``--json``), the gate judges,
the HTML report draws and the API will serve.

Pydantic models (not dataclasses) because these leave the process as JSON. Every
difference is *candidate − baseline*; whether that is good depends on the metric's
``higher_is_better``, which :attr:`MetricComparison.drop` folds in once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CaseKey",
    "Comparison",
    "Flip",
    "LatencySummary",
    "MetricComparison",
    "RunSide",
    "UsageSummary",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseKey(_Model):
    case_id: str
    epoch: int = 0


class MetricComparison(_Model):
    """One metric of the two runs over their paired cases.

    ``key`` names it: ``score`` (the overall weighted score over the cases scored in both
    runs: a case errored in either is left out, as in the run aggregates),
    ``pass_rate`` (the share of passed cases), a scorer's name, or ``section:NAME``.
    """

    key: str
    kind: Literal["run", "scorer", "section"]
    name: str
    higher_is_better: bool = True
    n: int
    baseline: float | None
    baseline_ci: tuple[float | None, float | None]
    candidate: float | None
    candidate_ci: tuple[float | None, float | None]
    difference: float | None
    difference_ci: tuple[float | None, float | None]
    p_value: float | None
    test: str
    effect_size: float | None
    effect_measure: str

    @property
    def drop(self) -> float | None:
        """How much worse the candidate is (positive = worse), in the metric's units."""
        if self.difference is None:
            return None
        return -self.difference if self.higher_is_better else self.difference

    def significant(self, alpha: float) -> bool:
        return self.p_value is not None and self.p_value < alpha


class Flip(_Model):
    """A case whose verdict changed: a regression (passed → not passed) or a fix."""

    case_id: str
    epoch: int
    section: str | None
    baseline_status: str
    candidate_status: str
    baseline_score: float
    candidate_score: float
    delta: float


class LatencySummary(_Model):
    """Model latency of one run (cached and errored cases left out)."""

    n: int
    p50: float | None
    p90: float | None
    p99: float | None
    mean: float | None
    histogram: list[int]


class UsageSummary(_Model):
    total: int
    passed: int
    failed: int
    errored: int
    cached: int
    error_rate: float | None  # percent of cases that errored, as on the run record
    input_tokens: int
    output_tokens: int
    cost: float | None  # None when one call had an unknown price


class RunSide(_Model):
    """One of the compared runs, with what it is and what it consumed."""

    id: str
    title: str
    created_at: datetime
    suite_id: str
    suite_hash: str
    prompt: str
    prompt_version: int
    model: str
    alias: str | None
    served_builds: list[str]
    latency: LatencySummary
    usage: UsageSummary
    #: The run's derived metrics (``metrics["derived"]``; empty when it has none).
    derived: dict[str, float | None] = Field(default_factory=dict)


class Comparison(_Model):
    """Baseline vs candidate, aligned case by case (``(case_id, epoch)``)."""

    baseline: RunSide
    candidate: RunSide
    confidence: float
    paired: int
    only_in_baseline: list[CaseKey]
    only_in_candidate: list[CaseKey]
    warnings: list[str]
    metrics: list[MetricComparison]
    latency_edges: list[float]
    regressions: list[Flip]
    fixes: list[Flip]

    def metric(self, key: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.key == key), None)
