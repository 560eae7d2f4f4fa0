"""Scorers: turn (case, output) into scores.

A scorer is data first (a :class:`~evalbook.core.suite.ScorerSpec` stored with the run)
and code second (a :class:`Scorer` found by name in :data:`SCORERS`). Built-ins are
entry points of ``evalbook.scorers`` like any plugin; ``@scorer`` registers a function.
"""

from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.registry import (
    SCORERS,
    build_scorer,
    parse_scorer_spec,
    scorer,
    spec_to_dict,
)
from evalbook.scorers.scorer_set import ScorerSet

__all__ = [
    "SCORERS",
    "ScoreContext",
    "ScoreOutcome",
    "Scorer",
    "ScorerSet",
    "build_scorer",
    "parse_scorer_spec",
    "scorer",
    "spec_to_dict",
]
