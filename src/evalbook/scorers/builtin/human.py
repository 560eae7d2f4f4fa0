"""``human``: the case waits for a person to review it.

Spec forms::

    - human                                   # criterion "human", scores in [0, 1]
    - human: helpfulness                      # the criterion reviewers score
    - human: {criterion: helpfulness, scale: [1, 5]}

At run time it records no score and no verdict (label ``awaiting review``): it neither
fails the case nor counts in any mean, so a case with a ``human`` scorer passes or fails
on its other scorers alone. Reviews arrive later as feedback rows
(``evalbook feedback RUN CASE --score 4 --name helpfulness``); the run's
``feedback_scores`` summary, the awaiting count and the judge-vs-human agreement are
derived from them (``analysis/feedback.py``). ``scale`` is the range reviewers score in:
feedback outside it is refused, and scores are normalised to [0, 1] by it wherever they
are compared with a judge's or exported.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evalbook.core.suite import ScorerKind, ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["AWAITING_REVIEW", "Human", "HumanOptions"]

AWAITING_REVIEW = "awaiting review"


class HumanOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The name feedback is given under (default: the spec's name, else ``human``).
    criterion: str | None = Field(default=None, min_length=1, max_length=200)
    #: ``[low, high]``: the range reviewers score in.
    scale: tuple[float, float] = (0.0, 1.0)

    @field_validator("scale")
    @classmethod
    def _rising(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise ValueError(f"scale {list(value)} must be two finite numbers, low < high")
        return value


class Human(Scorer):
    """Marks the case as awaiting human review of ``criterion`` (the value, or the
    ``criterion`` option); scores arrive later as feedback, in ``scale``."""

    kind: ClassVar[ScorerKind] = ScorerKind.human
    #: On the normalised [0, 1] score: the bar a reviewed case is compared with.
    default_threshold: ClassVar[float] = 0.5
    Options: ClassVar[type[BaseModel]] = HumanOptions
    options: HumanOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        value = spec.value
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise ValueError(f"scorer 'human': the value names the criterion, not {value!r}")
        given = self.options.criterion
        if value is not None and given is not None and value != given:
            raise ValueError(f"scorer 'human': criterion given twice ({value!r}, {given!r})")
        self.criterion: str = value or given or spec.metric_name

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        low, high = self.options.scale
        return ScoreOutcome(
            score=None,
            label=AWAITING_REVIEW,
            rationale=f"awaiting human review of {self.criterion!r} (scale {low:g}–{high:g})",
            evidence={"details": {"criterion": self.criterion, "scale": [low, high]}},
        )
