"""Judge a comparison against gate rules: every rule gets an outcome with its numbers.

Why every rule is reported, passed or not: a CI log that says only "gate failed" sends
someone to reproduce the comparison; one that says "faithfulness dropped 0.13 (limit
0.05, p = 0.0001)" does not.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evalbook.analysis.models import Comparison, Flip, MetricComparison
from evalbook.errors import UserError
from evalbook.gate.rules import GateRules

__all__ = ["RuleOutcome", "Verdict", "evaluate"]

_EPS = 1e-12


class RuleOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str  # e.g. "faithfulness max-drop 0.05"
    metric: str | None
    passed: bool
    observed: float | None
    limit: float | None
    p_value: float | None = None
    noise_floor: float | None = None
    detail: str


class Verdict(BaseModel):
    """The gate's answer, with the comparison it was drawn from."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    rules: list[RuleOutcome]
    failing_metrics: list[str]
    newly_failing: list[Flip]
    comparison: Comparison

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 100


def evaluate(comparison: Comparison, rules: GateRules) -> Verdict:
    rules = rules.effective()
    outcomes: list[RuleOutcome] = []
    if rules.min_score is not None:
        outcomes.append(_minimum(_metric(comparison, "score"), rules.min_score, "min-score"))
    if rules.max_drop is not None:
        outcomes.append(_drop(_metric(comparison, "score"), rules.max_drop, rules))
    if rules.max_metric_drop is not None:
        for m in comparison.metrics:
            if m.kind == "scorer":
                outcomes.append(_drop(m, rules.max_metric_drop, rules))
    for rule in rules.metrics:
        m = _metric(comparison, rule.metric)
        if rule.max_drop is not None:
            outcomes.append(_drop(m, rule.max_drop, rules))
        if rule.min is not None:
            outcomes.append(_minimum(m, rule.min, "min"))
    regressions = comparison.regressions
    if rules.max_new_failures is not None:
        outcomes.append(_new_failures(comparison, rules))
    failing = []
    for o in outcomes:
        if not o.passed and o.metric and o.metric not in failing:
            failing.append(o.metric)
    return Verdict(
        passed=all(o.passed for o in outcomes),
        rules=outcomes,
        failing_metrics=failing,
        newly_failing=regressions,
        comparison=comparison,
    )


def _metric(comparison: Comparison, key: str) -> MetricComparison:
    m = comparison.metric(key)
    if m is None:
        known = ", ".join(x.key for x in comparison.metrics)
        raise UserError(f"the runs have no metric {key!r} to gate on; known: {known}")
    return m


def _minimum(m: MetricComparison, limit: float, word: str) -> RuleOutcome:
    value = m.candidate
    ok = value is not None and (value >= limit - _EPS if m.higher_is_better else value <= limit)
    shown = "—" if value is None else f"{value:.4g}"
    return RuleOutcome(
        rule=f"{m.key} {word} {limit:g}",
        metric=m.key,
        passed=ok,
        observed=value,
        limit=limit,
        detail=f"{m.key} is {shown} (must reach {limit:g})",
    )


def _drop(m: MetricComparison, limit: float, rules: GateRules) -> RuleOutcome:
    drop = m.drop
    floor = max(rules.noise_floor or 0.0, rules.noise.floor(m.key) if rules.noise else 0.0)
    name = f"{m.key} max-drop {limit:g}"
    if drop is None:
        return RuleOutcome(
            rule=name, metric=m.key, passed=True, observed=None, limit=limit,
            detail=f"{m.key}: no paired cases to compare",
        )  # fmt: skip
    beyond = drop > max(limit, floor) + _EPS
    significant = rules.alpha is None or m.significant(rules.alpha)
    words = [f"{m.key} dropped {drop:+.4g}" if drop > 0 else f"{m.key} changed {-drop:+.4g}"]
    words.append(f"limit {limit:g}")
    if floor:
        words.append(f"noise floor {floor:.4g}")
    if m.p_value is not None:
        words.append(f"p = {m.p_value:.3g} ({m.test})")
    if beyond and not significant:
        words.append(f"not significant at alpha {rules.alpha:g}")
    return RuleOutcome(
        rule=name,
        metric=m.key,
        passed=not (beyond and significant),
        observed=drop,
        limit=limit,
        p_value=m.p_value,
        noise_floor=floor or None,
        detail=", ".join(words),
    )


def _new_failures(comparison: Comparison, rules: GateRules) -> RuleOutcome:
    limit = rules.max_new_failures or 0
    count = len(comparison.regressions)
    pass_rate = comparison.metric("pass_rate")
    p = pass_rate.p_value if pass_rate else None
    significant = rules.alpha is None or (p is not None and p < rules.alpha)
    detail = f"{count} newly failing case(s), limit {limit}"
    if p is not None:
        detail += f", McNemar p = {p:.3g}"
    if count > limit and not significant:
        detail += f", not significant at alpha {rules.alpha:g}"
    return RuleOutcome(
        rule=f"max-new-failures {limit}",
        metric=None,
        passed=not (count > limit and significant),
        observed=float(count),
        limit=float(limit),
        p_value=p,
        detail=detail,
    )
