"""What a case's score records make of it: its verdict and its weighted score.

The executor and the rescorer judge a case by these, whichever scorers made its records
(:class:`~evalbook.scorers.scorer_set.ScorerSet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalbook.core.result import FailureReason, ResultStatus, ScoreRecord

__all__ = ["SCORER_ERROR", "CaseVerdict", "case_verdict", "weighted_score"]

#: ``error_type`` of a case whose output could not be scored (a judge's verdict did not
#: parse, a scorer raised): an error of the measurement, counted apart from call errors.
SCORER_ERROR = "ScorerError"


@dataclass(frozen=True)
class CaseVerdict:
    """What a case's score records make of it: passed, failed, or an error when a scorer
    could not score (never a silent 0: the case leaves every mean and counts as errored)."""

    status: ResultStatus
    failure_reason: FailureReason | None
    error_type: str | None = None
    error_message: str | None = None


_PASSED = CaseVerdict(ResultStatus.passed, None)
_FAILED = CaseVerdict(ResultStatus.failed, FailureReason.assertion)


def case_verdict(records: Sequence[ScoreRecord]) -> CaseVerdict:
    passed = True
    for record in records:
        if record.error:
            broken = [r for r in records if r.error]
            message = "; ".join(f"scorer {r.name!r}: {r.error}" for r in broken)
            return CaseVerdict(
                ResultStatus.error, FailureReason.error, SCORER_ERROR, message[:4000]
            )
        if record.passed is False:
            passed = False
    # One verdict object each (frozen), not one per case.
    return _PASSED if passed else _FAILED


def weighted_score(records: Sequence[ScoreRecord]) -> float | None:
    """Weighted mean of the records that have a score; ``None`` when none has (or every
    weight is 0)."""
    total = weights = 0.0
    for record in records:
        if record.score is not None:
            total += record.weight * record.score
            weights += record.weight
    return total / weights if weights > 0 else None
