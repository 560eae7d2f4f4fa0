"""Judge a comparison against gate rules: every rule gets an outcome with its numbers.

Why every rule is reported, passed or not: a CI log that says only "gate failed" sends
someone to reproduce the comparison; one that says "faithfulness dropped 0.13 (limit
0.05, p = 0.0001)" does not.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evalbook.analysis.compare.comparison import Comparison, Flip, MetricComparison
from evalbook.errors import UserError
from evalbook.gate.rules import GateRules

__all__ = ["RuleOutcome", "Verdict", "detectable_drop", "evaluate"]

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
    if comparison.candidate.usage.errored:  # errored cases are in no score: gated here
        outcomes.append(_errors(comparison, rules))
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
            rule=name, metric=m.key, passed=False, observed=None, limit=limit,
            detail=f"{m.key}: no case was scored in both runs, so nothing shows the"
            " candidate is no worse",
        )  # fmt: skip
    beyond = drop > max(limit, floor) + _EPS
    significant_drop = drop > _EPS and m.significant(rules.significant_at or 0.0)
    tempered = rules.alpha is not None and not m.significant(rules.alpha)
    failed = (beyond and not tempered) or (rules.significant_at is not None and significant_drop)
    low, high = m.difference_ci
    sign = -1.0 if m.higher_is_better else 1.0  # the interval of the drop, not the difference
    # (+ 0.0: a bound of -0.0, the drop of a metric that did not move, reads "0", not "-0")
    interval = (
        ""
        if low is None or high is None
        else f" (paired interval of the drop [{min(sign * low, sign * high) + 0.0:+.4g},"
        f" {max(sign * low, sign * high) + 0.0:+.4g}])"
    )
    moved = (
        "did not change"
        if abs(drop) <= _EPS
        else f"{'dropped' if drop > 0 else 'rose'} by {abs(drop):.4g}"
    )
    words = [f"{m.key} {moved} ({_fmt(m.baseline)} → {_fmt(m.candidate)}){interval}"]
    words.append(f"n = {m.n} paired cases")
    if m.p_value is not None:
        words.append(f"p = {m.p_value:.3g} ({m.test})")
    words.append(f"allowed drop {limit:g}" + (f", noise floor {floor:.4g}" if floor else ""))
    detectable = detectable_drop(m)
    if detectable is not None:
        words.append(f"the smallest drop {m.n} cases could detect is about {detectable:.2g}")
    if failed:
        why = "beyond the allowed drop" if beyond and not tempered else ""
        if rules.significant_at is not None and significant_drop:
            why = (why + " and " if why else "") + (
                f"significant at alpha {rules.significant_at:g}"
            )
        words.append(f"FAILS: {why}")
    elif beyond and tempered:
        words.append(f"passes: beyond the allowed drop but not significant at {rules.alpha:g}")
    return RuleOutcome(
        rule=name,
        metric=m.key,
        passed=not failed,
        observed=drop,
        limit=limit,
        p_value=m.p_value,
        noise_floor=floor or None,
        detail="; ".join(words),
    )


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


#: z(0.975) + z(0.80): a two-sided test at alpha 0.05 with 80% power.
_Z_SUM = 1.959964 + 0.841621


def detectable_drop(m: MetricComparison) -> float | None:
    """The smallest drop ``m.n`` paired cases would find significant (alpha 0.05) four
    times in five: ``(z(0.975) + z(0.8)) × se``. The standard error comes from the paired
    interval when the runs differ; when they do not, from the baseline's own spread as if
    the cases flipped independently (a proportion's ``p(1 − p)``), so identical runs still
    say how small a suite is. ``None`` when n is 0."""
    if m.n < 1:
        return None
    low, high = m.difference_ci
    if low is not None and high is not None and high - low > _EPS:
        se = (high - low) / (2 * 1.959964)
        return _Z_SUM * se
    p = m.baseline
    if p is None or not 0.0 <= p <= 1.0:
        return None
    spread = max(p * (1 - p), 1 / (4 * m.n))  # never 0: a perfect baseline can still drop
    return float(_Z_SUM * (2 * spread / m.n) ** 0.5)


def _errors(comparison: Comparison, rules: GateRules) -> RuleOutcome:
    usage = comparison.candidate.usage
    limit = rules.max_error_rate or 0.0
    rate = usage.error_rate or 0.0
    ok = usage.errored == 0 or rate <= limit + _EPS
    return RuleOutcome(
        rule=f"max-error-rate {limit:g}%",
        metric=None,
        passed=ok,
        observed=rate,
        limit=limit,
        detail=f"the candidate has {usage.errored} errored case(s) of {usage.total}"
        f" ({rate:.3g}%), allowed {limit:g}%: errored cases are in no score, so they are"
        " gated here",
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
