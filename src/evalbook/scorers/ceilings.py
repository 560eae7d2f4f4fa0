"""Operational ceilings on a result: latency and cost.

``{latency: 2000}`` passes when the call took at most 2,000 ms; ``{cost: 0.01}`` when it
cost at most one cent (USD). They gate on what a result cost to produce, beside what it
says. A result whose latency or cost is unknown (a provider that reports no usage, a
model without prices) is a scorer error, never a pass: a budget check that passes
because nothing was measured would hide exactly the regressions it is there for.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from evalbook.core.suite import ScorerKind, ScorerSpec
from evalbook.core.templating import is_template
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.builtin.number_parsing import to_number

__all__ = ["Cost", "Latency"]


class _Ceiling(Scorer):
    """The measured quantity is at most the value (a number ≥ 0, or a template)."""

    kind: ClassVar[ScorerKind] = ScorerKind.heuristic
    requires_value: ClassVar[bool] = True
    what: ClassVar[str]
    unit: ClassVar[str]

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._static: float | None = None
        if not (isinstance(spec.value, str) and is_template(spec.value)):
            self._static = self._limit(spec.value)

    def _limit(self, value: Any) -> float:
        number = to_number(value)
        if number is None or number < 0:
            raise ValueError(
                f"scorer {self.spec.metric_name!r} needs a ceiling in {self.unit} (a number"
                f" ≥ 0), not {value!r}"
            )
        return number

    @abstractmethod
    def measure(self, ctx: ScoreContext) -> float | None:
        """The measured quantity; ``None`` when the result does not know it."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        limit = self._static if ctx.value is self.spec.value else None
        if limit is None:
            limit = self._limit(ctx.value)
        measured = self.measure(ctx)
        if measured is None:
            raise ValueError(
                f"the result's {self.what} is unknown, so its ceiling cannot be checked"
            )
        shown = f"{measured:g} {self.unit}"
        ok = measured <= limit
        relation = "within" if ok else "over"
        return ScoreOutcome(
            score=1.0 if ok else 0.0,
            passed=ok,
            label=shown,
            rationale=f"{self.what} {shown}, {relation} the ceiling of {limit:g} {self.unit}",
        )


class Latency(_Ceiling):
    """The call's latency (``latency_ms``) is at most the value, in milliseconds."""

    what: ClassVar[str] = "latency"
    unit: ClassVar[str] = "ms"

    def measure(self, ctx: ScoreContext) -> float | None:
        return ctx.latency_ms


class Cost(_Ceiling):
    """The call's cost (``cost_usd``) is at most the value, in US dollars."""

    what: ClassVar[str] = "cost"
    unit: ClassVar[str] = "USD"

    def measure(self, ctx: ScoreContext) -> float | None:
        return ctx.cost_usd
