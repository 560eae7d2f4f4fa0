"""``assert-set``: several scorers judged as one, by the weighted share of their scores.

promptfoo passes a test (or an ``assert-set``) that has a ``threshold`` when the weighted
mean of its assertions' scores reaches it, whatever each assertion's own verdict; without
a threshold, when every assertion passes. This scorer is that rule::

    - type: assert-set
      threshold: 0.5
      value:
        - {contains: Paris}
        - {type: icontains, value: "{{ city }}", weight: 2}

Its score is the weighted mean of the inner scorers' scores (each rendered, extracted and
scored exactly as a scorer of the case is); it passes when the score reaches
``threshold``, or, without one, when every inner scorer passes. An inner scorer that
errors (an ``unsupported`` check, a judge whose verdict did not parse) makes the set
error: a share is never reached on a check that was not made. The inner verdicts are in
the record's ``evidence.details.scores``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evalbook.core.case_context import template_context
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import ScoreRecord
from evalbook.core.suite import Case, ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer, Usage

__all__ = ["AssertSet"]


class AssertSet(Scorer):
    """The weighted mean of its inner scorers, passing at ``threshold`` (else when every
    inner scorer passes)."""

    requires_value: ClassVar[bool] = True

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        from evalbook.scorers.registry import parse_scorer_spec
        from evalbook.scorers.scorer_set import ScorerSet

        if not isinstance(spec.value, list) or not spec.value:
            raise ValueError("scorer 'assert-set' needs a list of scorer specs as its value")
        self.inner_specs = [parse_scorer_spec(item) for item in spec.value]
        self.inner = ScorerSet.build(self.inner_specs)

    def check_case(self, case: Case) -> None:
        for scorer in self.inner.scorers:
            scorer.check_case(case)

    def judge_models(self) -> tuple[ModelConfig, ...]:
        return tuple(self.inner.judge_models())

    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        records, _, _ = await self.inner.score(ctx, template_context(ctx.case))
        broken = [r for r in records if r.error]
        if broken:
            raise ValueError("; ".join(f"inner scorer {r.name!r}: {r.error}" for r in broken))
        total = weights = 0.0
        for record in records:
            if record.score is not None:
                total += record.weight * record.score
                weights += record.weight
        score = total / weights if weights > 0 else 0.0
        every = all(r.passed is not False for r in records)
        passed_by = self.spec.threshold
        if passed_by is None:
            rationale = (
                "every inner scorer passed"
                if every
                else "failed: " + ", ".join(r.name for r in records if r.passed is False)
            )
        else:
            sign = ">=" if score >= passed_by else "<"
            rationale = f"weighted score {score:.3f} {sign} threshold {passed_by:g}"
        return ScoreOutcome(
            score=score,
            passed=every if passed_by is None else None,
            rationale=rationale,
            evidence={"details": {"scores": [s for r in records for s in _summaries(r)]}},
            usage=_usage(records),
        )


def _summaries(record: ScoreRecord) -> list[dict[str, Any]]:
    """The inner record's verdict, then (an inner set's) those inside it."""
    own = {
        "name": record.name,
        "type": record.type,
        "score": record.score,
        "passed": record.passed,
        "weight": record.weight,
        "rationale": record.evidence.rationale,
    }
    details = record.evidence.details or {}
    nested = details.get("scores") if record.type == "assert-set" else None
    return [own, *(nested if isinstance(nested, list) else [])]


def _usage(records: list[ScoreRecord]) -> Usage | None:
    spent = [r for r in records if r.input_tokens or r.output_tokens or r.cost_usd]
    if not spent:
        return None
    costs = [r.cost_usd for r in spent]
    return Usage(
        input_tokens=sum(r.input_tokens or 0 for r in spent),
        output_tokens=sum(r.output_tokens or 0 for r in spent),
        cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )
