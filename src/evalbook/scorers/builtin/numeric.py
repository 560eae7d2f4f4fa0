"""Numeric answers: find the number in the output and compare it within a tolerance.

Models write numbers the way people do (``1,234``, ``-5`` or with a Unicode minus, ``1e3``,
``.5``), usually inside a sentence, so the number is extracted first
(lm-evaluation-harness's "filter before metric") and the comparison is ``math.isclose``
with the given tolerances.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.core.templating import is_template
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.builtin.number_parsing import find_numbers, format_number, to_number

__all__ = ["Numeric", "find_numbers", "to_number"]  # the number helpers, re-exported


class NumericOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(default=0.0, ge=0)
    rel_tolerance: float = Field(default=0.0, ge=0)
    pick: Literal["first", "last", "only", "any"] = "first"


class Numeric(Scorer):
    """The number in the output equals the value (default: ``expected``) within
    ``tolerance`` (absolute) or ``rel_tolerance`` (relative), whichever is looser.

    ``pick``: ``first`` / ``last`` number in the output, ``only`` (exactly one number
    must appear) or ``any`` (passes when any number in the output matches).
    """

    kind: ClassVar[ScorerKind] = ScorerKind.reference_based
    uses_expected: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = NumericOptions
    options: NumericOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._static: float | None = None
        value = spec.value
        if value is not None and not (isinstance(value, str) and is_template(value)):
            self._static = self._reference_number(value, "the value")

    def _reference_number(self, value: Any, what: str) -> float:
        number = to_number(value)
        if number is None:
            raise ValueError(
                f"scorer {self.spec.metric_name!r} needs a number as {what}, not {value!r}"
            )
        return number

    def check_case(self, case: Case) -> None:
        super().check_case(case)
        if self.spec.value is None:
            try:
                self._reference_number(case.expected, "expected")
            except ValueError as exc:
                raise ValueError(f"case {case.id!r}: {exc}") from None

    def _close(self, got: float, want: float) -> bool:
        return math.isclose(
            got, want, rel_tol=self.options.rel_tolerance, abs_tol=self.options.tolerance
        )

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        if self._static is not None and ctx.value is self.spec.value:
            want = self._static
        else:
            reference = self.reference(ctx)
            what = "expected" if ctx.value is None else "the value"
            want = self._reference_number(reference, what)
        numbers = find_numbers(ctx.output or "")
        if not numbers:
            return ScoreOutcome(score=0.0, passed=False, rationale="no number in the output")
        mode = self.options.pick
        if mode == "only" and len(numbers) != 1:
            return ScoreOutcome(
                score=0.0,
                passed=False,
                rationale=f"expected exactly one number, found {len(numbers)}",
            )
        if mode == "any":
            hits = [n for n in numbers if self._close(n, want)]
            got = hits[0] if hits else numbers[0]
        else:
            got = numbers[-1] if mode == "last" else numbers[0]
        ok = self._close(got, want)
        label = format_number(got)
        if ok:
            why = f"{label} matches {format_number(want)}"
        elif mode == "any":
            why = f"none of {len(numbers)} number(s) matches {format_number(want)}"
        else:
            why = f"{label} ({mode} number) does not match {format_number(want)}"
        return ScoreOutcome(score=1.0 if ok else 0.0, passed=ok, label=label, rationale=why)
