"""Pairwise judging as records: a candidate run against a baseline run, case by case.

Every pair is judged twice, once with the candidate shown first (slot A) and once with
the baseline shown first, so that a judge's taste for a slot cancels out instead of
deciding the result. Only a verdict that follows the *answer* across both orders counts
as a win or a loss; anything else is a tie:

================================  =====================  =======
candidate first / baseline first  which answer won        outcome
================================  =====================  =======
A / B                             candidate, candidate   win
B / A                             baseline, baseline     loss
tie / tie                         —                      tie
A / A or B / B                    the *slot* won twice   tie (position bias)
one tie, one decisive             inconsistent           tie
================================  =====================  =======

A pair where either order has no verdict (the judge failed or gave nothing parseable)
is an ``error``, never a silent tie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Outcome",
    "PairwiseComparison",
    "PairwiseJudgment",
    "Slot",
    "pair_outcome",
    "same_slot",
]

Slot = Literal["A", "B", "tie"]
Outcome = Literal["win", "loss", "tie", "error"]


def pair_outcome(candidate_first: str | None, baseline_first: str | None) -> Outcome:
    """The candidate's outcome from the verdicts of both orders (see the table above)."""
    if candidate_first is None or baseline_first is None:
        return "error"
    if (candidate_first, baseline_first) == ("A", "B"):
        return "win"
    if (candidate_first, baseline_first) == ("B", "A"):
        return "loss"
    return "tie"


def same_slot(candidate_first: str | None, baseline_first: str | None) -> bool:
    """Both orders picked the same slot (A/A or B/B): the verdict followed the position,
    not the answer."""
    return candidate_first == baseline_first and candidate_first in ("A", "B")


class PairwiseJudgment(BaseModel):
    """One case (× epoch) judged in both orders.

    ``candidate_first`` is the verdict when the candidate's answer was shown as A,
    ``baseline_first`` when the baseline's was (``None`` where that order failed).
    ``length_diff`` is ``len(candidate) − len(baseline)`` in characters, so verbosity
    bias can be read off the records; ``cost_usd`` is what both judge calls cost.
    ``detail`` holds per order the reason, error, cached flag and tokens.
    """

    model_config = ConfigDict(extra="forbid")

    case_id: str
    epoch: int = 0
    outcome: Outcome
    candidate_first: Slot | None
    baseline_first: Slot | None
    length_diff: int | None = None
    cost_usd: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class PairwiseComparison(BaseModel):
    """A recorded pairwise comparison of two runs; ``summary`` is its statistics (see
    :class:`evalbook.stats.pairwise.PairwiseSummary`) and what judging cost.
    ``summary["status"]`` is ``running`` until the comparison finishes."""

    model_config = ConfigDict(extra="forbid")

    id: str
    baseline_run_id: str
    candidate_run_id: str
    criterion: str
    judge: dict[str, Any]
    template: str
    summary: dict[str, Any]
    created_at: datetime
