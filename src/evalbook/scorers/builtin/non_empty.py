"""The default pass criterion: some output, and no error.

Seed 004's criterion is deliberately loose: it catches regressions (a blank output, a
rejected prompt, a failed call) without judging quality. A suite with no scorers gets
exactly this one.
"""

from __future__ import annotations

from typing import ClassVar

from evalbook.core.suite import ScorerKind
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["NonEmpty"]


class NonEmpty(Scorer):
    """1 when the output has a non-whitespace character and the call did not fail."""

    kind: ClassVar[ScorerKind] = ScorerKind.heuristic

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        if ctx.error is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=f"the call failed: {ctx.error}")
        if not ctx.output or ctx.output.isspace():
            return ScoreOutcome(score=0.0, passed=False, rationale="output is empty")
        return ScoreOutcome(score=1.0, passed=True, rationale="output is non-empty")
