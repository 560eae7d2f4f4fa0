"""Length bounds on the output, in characters or words.

For "answer in one word", "at most 280 characters", "a summary of 50 to 100 words":
a format requirement that is cheap to check on every result. Surrounding whitespace is
not counted; characters are Unicode code points (``len``), so ``é`` written as one code
point counts 1 and as ``e`` plus a combining accent counts 2; words are runs of
non-whitespace (``str.split``), so ``don't`` is one word and CJK text without spaces is
one word per run: bound CJK output in characters.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalbook.core.suite import ScorerKind
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["Length"]


class LengthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    unit: Literal["chars", "words"] = "chars"

    @model_validator(mode="after")
    def _bounds(self) -> LengthOptions:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Length(Scorer):
    """The output's length is within ``min`` and ``max`` (inclusive), counted in
    ``unit`` (``chars`` or ``words``). Binary; the label is the count."""

    takes_value: ClassVar[bool] = False
    kind: ClassVar[ScorerKind] = ScorerKind.heuristic
    Options: ClassVar[type[BaseModel]] = LengthOptions
    options: LengthOptions

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        text = (ctx.output or "").strip()
        unit = self.options.unit
        count = len(text.split()) if unit == "words" else len(text)
        low, high = self.options.min, self.options.max
        if low is not None and count < low:
            why = f"{count} {unit}, fewer than the minimum {low}"
        elif high is not None and count > high:
            why = f"{count} {unit}, more than the maximum {high}"
        else:
            if low is None:
                bounds = f"at most {high}"
            elif high is None:
                bounds = f"at least {low}"
            else:
                bounds = f"between {low} and {high}"
            return ScoreOutcome(
                score=1.0, passed=True, label=str(count), rationale=f"{count} {unit}, {bounds}"
            )
        return ScoreOutcome(score=0.0, passed=False, label=str(count), rationale=why)
