"""Scoring functions that the tests name as ``python`` specs (``module:function``)."""

from __future__ import annotations

from evalbook.scorers import ScoreContext, ScoreOutcome


def shouts(ctx: ScoreContext) -> bool:
    return bool(ctx.output) and (ctx.output or "").isupper()


def length_ratio(ctx: ScoreContext) -> float:
    return min(len(ctx.output or "") / 10, 1.0)


async def async_outcome(ctx: ScoreContext) -> ScoreOutcome:
    return ScoreOutcome(score=0.5, passed=True, label="half", rationale="always half")


NOT_CALLABLE = 3
