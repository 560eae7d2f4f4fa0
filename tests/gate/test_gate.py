"""Gate rules and verdicts: seed 000's story, significance and noise, the CI outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalbook.analysis import compare_facts, compare_runs
from evalbook.analysis.compare.facts import RunFacts, ScorerColumn
from evalbook.analysis.history.noise import MetricNoise, NoiseEstimate
from evalbook.core.run import RunRecord, RunStatus
from evalbook.errors import UserError
from evalbook.gate import (
    GateRules,
    Verdict,
    evaluate,
    gate,
    parse_metric_rule,
    to_json,
    to_junit,
    to_markdown,
)
from evalbook.gate.evaluate import detectable_drop
from evalbook.storage.store import Store

from ..analysis.seed import seed_runs


def test_parse_metric_rule() -> None:
    rule = parse_metric_rule("faithfulness:max-drop=0.3")
    assert (rule.metric, rule.max_drop, rule.min) == ("faithfulness", 0.3, None)
    rule = parse_metric_rule("section:europe:max-drop=0.1,min=0.7")
    assert (rule.metric, rule.max_drop, rule.min) == ("section:europe", 0.1, 0.7)
    for bad in (
        "faithfulness",
        "faithfulness:max-drop",
        "f:max-drop=x",
        "f:limit=1",
        "f:max-drop=-1",
    ):
        with pytest.raises(UserError):
            parse_metric_rule(bad)


async def test_seed_story_gate_fails_on_faithfulness_then_passes(store: Store) -> None:
    runs = await seed_runs(store, (4, 5, 6))
    rules = GateRules(metrics=[parse_metric_rule("faithfulness:max-drop=0.05")], alpha=0.05)
    held = gate(store, rules=rules, candidate=runs[5].id)  # baseline: latest before it = v4
    assert held.comparison.baseline.id == runs[4].id
    assert not held.passed and held.exit_code == 100
    assert held.failing_metrics == ["faithfulness"]
    [outcome] = held.rules
    assert outcome.observed == pytest.approx(0.13) and outcome.p_value is not None
    assert len(held.newly_failing) == 40

    fixed = gate(store, rules=rules, candidate=runs[6].id, baseline=runs[4].id)
    assert fixed.passed and fixed.exit_code == 0 and fixed.failing_metrics == []

    # With no rule: "no metric may drop significantly" catches it too, not concision.
    default = gate(store, rules=GateRules(), candidate=runs[5].id, baseline=runs[4].id)
    assert not default.passed
    assert "faithfulness" in default.failing_metrics and "concision" not in default.failing_metrics


async def test_rule_kinds(store: Store) -> None:
    runs = await seed_runs(store, (4, 5), n=24)
    c = compare_runs(store, runs[4], runs[5])

    def verdict(**rules: object) -> Verdict:
        return evaluate(c, GateRules.model_validate(rules))

    assert not verdict(min_score=0.8).passed and verdict(min_score=0.75).passed
    assert not verdict(max_drop=0.01).passed and verdict(max_drop=0.05).passed
    assert not verdict(max_metric_drop=0.1).passed  # faithfulness −0.13
    assert verdict(max_new_failures=8).passed and not verdict(max_new_failures=7).passed
    assert verdict(max_drop=0.01, noise_floor=0.05).passed  # within the noise
    noise = NoiseEstimate(
        suite_id="summaries", model="m", prompt="p", runs=["a", "b"], z=2.0,
        metrics={"faithfulness": MetricNoise(values=[0.8, 0.9], mean=0.85, sd=0.07, floor=0.2)},
    )  # fmt: skip
    assert verdict(metrics=[{"metric": "faithfulness", "max_drop": 0.05}], noise=noise).passed
    assert not verdict(metrics=[{"metric": "faithfulness", "min": 0.8}]).passed
    with pytest.raises(UserError, match="no metric 'faith'"):
        verdict(metrics=[{"metric": "faith", "max_drop": 0.1}])


async def test_outputs(store: Store) -> None:
    runs = await seed_runs(store, (4, 5), n=12)
    v = gate(
        store,
        rules=GateRules(max_drop=0.5, metrics=[parse_metric_rule("faithfulness:max-drop=0.05")]),
        candidate=runs[5].id,
    )
    root = ET.fromstring(to_junit(v))
    rules, cases = root.findall("testsuite")
    assert [t.get("name") for t in rules] == ["score max-drop 0.5", "faithfulness max-drop 0.05"]
    assert rules.get("failures") == "1" and cases.get("tests") == "4"
    assert {t.get("name") for t in cases} == {"doc-000", "doc-003", "doc-006", "doc-009"}
    assert all(t.find("failure") is not None for t in cases)
    md = to_markdown(v)
    assert "❌ evalbook gate failed" in md and "Failing: **faithfulness**" in md
    assert "`doc-003`" in md
    again = Verdict.model_validate_json(to_json(v))
    assert again.failing_metrics == ["faithfulness"] and not again.passed
    assert json.loads(to_json(v))["comparison"]["paired"] == 12


def _facts(run_id: str, scores: np.ndarray) -> RunFacts:
    run = RunRecord(
        id=run_id, title="t", status=RunStatus.completed, suite_id="s", suite_name="s",
        suite_version="1", suite_hash="h", prompt_name="p", prompt_version=1, prompt_hash="ph",
        model={"provider": "mock", "name": "echo"}, model_hash="mh", threshold=0.5,
        evalbook_version="0", created_at=datetime.now(UTC),
    )  # fmt: skip
    n = scores.size
    return RunFacts(
        run=run,
        keys=[(f"c{i}", 0) for i in range(n)],
        status=np.where(scores >= 0.5, 0, 1).astype(np.int8),
        score=scores,
        sections=np.array(["a" if i % 2 else "b" for i in range(n)], dtype=object),
        scorers={"judge": ScorerColumn("judge", True, scores.copy())},
        latency=np.zeros(0),
        usage={"total": n, "passed": 0, "failed": 0, "errored": 0, "cached": 0,
               "input_tokens": 0, "output_tokens": 0, "cost": 0.0},
        served=["m+fp"],
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=50),
    st.floats(0.001, 0.2),
)
def test_identical_runs_never_fail_a_significance_gated_rule(
    values: list[float], alpha: float
) -> None:
    scores = np.array(values)
    c = compare_facts(_facts("a", scores), _facts("b", scores.copy()))
    assert all(m.difference == 0 and m.p_value == 1.0 for m in c.metrics)
    strict = GateRules(
        max_drop=0.0, max_metric_drop=0.0, max_new_failures=0, alpha=alpha,
        metrics=[parse_metric_rule("section:a:max-drop=0"), parse_metric_rule("judge:max-drop=0")],
    )  # fmt: skip
    assert evaluate(c, strict).passed
    assert evaluate(c, GateRules()).passed  # the default rules


async def test_python_api(store: Store) -> None:
    import evalbook

    runs = await seed_runs(store, (4, 5), n=12)
    c = evalbook.compare("latest", runs[5].id, store=store)
    assert c.baseline.id == runs[4].id and c.metric("faithfulness") is not None
    v = gate(store, rules=GateRules(), candidate=runs[5].id)  # evalbook.gate: the package
    assert not v.passed and "faithfulness" in v.failing_metrics
    assert not hasattr(evalbook, "__all__") or "gate" not in evalbook.__all__


def test_the_default_gate_fails_a_clear_regression_too_small_to_be_significant() -> None:
    """8 cases, 3 of them now wrong: a 0.375 drop that no paired test calls significant at
    this n. The old default (significant drops only) passed it; the drop is beyond the
    allowed 0.02, so the default fails it, and says in words what was tested."""
    base = np.ones(8)
    cand = np.array([1, 1, 1, 1, 1, 0, 0, 0], dtype=float)
    c = compare_facts(_facts("a", base), _facts("b", cand))
    score = c.metric("score")
    assert score is not None and score.p_value is not None and score.p_value > 0.05
    verdict = evaluate(c, GateRules())
    assert not verdict.passed and "score" in verdict.failing_metrics
    [outcome] = [o for o in verdict.rules if o.metric == "score"]
    detail = outcome.detail
    assert "score dropped by 0.375 (1 → 0.625)" in detail
    assert "paired interval of the drop [" in detail
    assert "n = 8 paired cases" in detail and "p = " in detail
    assert "allowed drop 0.02" in detail
    assert "the smallest drop 8 cases could detect is about" in detail
    assert "FAILS: beyond the allowed drop" in detail


def test_a_metric_that_did_not_move_says_so() -> None:
    """Not "rose by 0", and no negative zero in its interval ("[-0, -0]")."""
    same = np.array([1, 1, 0, 1], dtype=float)
    verdict = evaluate(compare_facts(_facts("a", same), _facts("b", same)), GateRules())
    [outcome] = [o for o in verdict.rules if o.metric == "score"]
    assert outcome.passed
    assert "score did not change (0.75 → 0.75) (paired interval of the drop [+0, +0])" in (
        outcome.detail
    )
    assert "-0" not in outcome.detail and "rose by" not in outcome.detail


def test_the_default_gate_fails_a_significant_drop_under_the_allowed_size() -> None:
    base = np.full(2000, 0.9)
    cand = base - 0.015  # every case a little worse: small, certain
    verdict = evaluate(compare_facts(_facts("a", base), _facts("b", cand)), GateRules())
    [outcome] = [o for o in verdict.rules if o.metric == "score"]
    assert not outcome.passed and "significant at alpha 0.05" in outcome.detail
    assert "beyond the allowed drop" not in outcome.detail


def test_the_smallest_detectable_drop_shrinks_with_n() -> None:
    small = compare_facts(_facts("a", np.ones(10) * 0.5), _facts("b", np.ones(10) * 0.5))
    large = compare_facts(_facts("a", np.ones(1000) * 0.5), _facts("b", np.ones(1000) * 0.5))
    d_small = detectable_drop(small.metric("score"))  # type: ignore[arg-type]
    d_large = detectable_drop(large.metric("score"))  # type: ignore[arg-type]
    assert d_small is not None and d_large is not None
    assert d_small == pytest.approx(2.8016 * (2 * 0.25 / 10) ** 0.5, rel=1e-3)
    assert d_large == pytest.approx(d_small / 10, rel=1e-3)


def test_errored_candidate_cases_are_gated_and_nothing_comparable_fails() -> None:
    base = np.ones(4)
    cand = _facts("b", np.full(4, np.nan))
    cand = RunFacts(**{**cand.__dict__, "status": np.full(4, 2, dtype=np.int8)})
    cand.usage.update(errored=4, error_rate=100.0)
    verdict = evaluate(compare_facts(_facts("a", base), cand), GateRules())
    assert not verdict.passed
    by_rule = {o.rule: o for o in verdict.rules}
    assert "no case was scored in both runs" in by_rule["score max-drop 0.02"].detail
    assert not by_rule["max-error-rate 0%"].passed
    assert "4 errored case(s) of 4" in by_rule["max-error-rate 0%"].detail
