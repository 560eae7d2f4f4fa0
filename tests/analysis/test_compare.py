"""Comparing two recorded runs: alignment, paired statistics checked against scipy,
flips, latency and usage, warnings — on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import evalbook
from evalbook.analysis import compare_runs
from evalbook.storage.store import Store

from .seed import N, case_scores, seed_runs, summary_suite


async def test_seed_story_numbers_match_scipy(store: Store) -> None:
    runs = await seed_runs(store, (4, 5))
    c = compare_runs(store, runs[4].id, runs[5].id)
    assert c.paired == N and not c.only_in_baseline and not c.only_in_candidate
    assert c.warnings == []

    faith_a = np.array([case_scores(4, i)[0] for i in range(N)])
    faith_b = np.array([case_scores(5, i)[0] for i in range(N)])
    faith = c.metric("faithfulness")
    assert faith is not None and faith.kind == "scorer" and faith.test == "wilcoxon"
    assert faith.baseline == pytest.approx(0.85) and faith.candidate == pytest.approx(0.72)
    assert faith.difference == pytest.approx(-0.13)
    assert faith.drop == pytest.approx(0.13)
    assert faith.p_value == pytest.approx(stats.wilcoxon(np.round(faith_b - faith_a, 12)).pvalue)
    ttest = stats.ttest_rel(faith_b, faith_a).confidence_interval(0.95)
    assert faith.difference_ci[0] == pytest.approx(ttest.low)
    assert faith.difference_ci[1] == pytest.approx(ttest.high)
    d = faith_b - faith_a
    assert faith.effect_size == pytest.approx(d.mean() / d.std(ddof=1))

    concision = c.metric("concision")
    assert concision is not None and concision.candidate == pytest.approx(0.84)
    assert concision.difference == pytest.approx(0.07) and concision.drop == pytest.approx(-0.07)

    score = c.metric("score")
    assert score is not None
    assert score.baseline == pytest.approx(runs[4].score)  # the recorded aggregate
    assert score.candidate == pytest.approx(runs[5].score)
    assert score.baseline == pytest.approx(0.81)

    # v5's faithfulness is 0.68 on every third case: those fail the 0.7 threshold.
    failing = [i for i in range(N) if case_scores(5, i)[0] < 0.7]
    assert len(c.regressions) == len(failing) and not c.fixes
    assert {f.case_id for f in c.regressions} == {f"doc-{i:03d}" for i in failing}
    deltas = [f.delta for f in c.regressions]
    assert deltas == sorted(deltas)  # worst first
    pass_rate = c.metric("pass_rate")
    assert pass_rate is not None and pass_rate.test == "mcnemar"
    assert pass_rate.p_value == pytest.approx(stats.binomtest(0, len(failing), 0.5).pvalue)
    assert pass_rate.effect_size == pytest.approx(-0.5)  # every flip is a regression

    sections = [m.key for m in c.metrics if m.kind == "section"]
    assert sections == ["section:part-0", "section:part-1"]
    assert c.baseline.usage.total == N and c.baseline.usage.cost == 0.0
    assert c.candidate.usage.failed == len(failing)
    assert c.baseline.served_builds == ["mock-echo+mock"]


async def test_identical_runs_differ_by_nothing(store: Store) -> None:
    suite = summary_suite(12, versions=(4,))
    a = await evalbook.arun(suite, store=store, prompt_version=4)
    b = await evalbook.arun(suite, store=store, prompt_version=4)
    c = compare_runs(store, a.id, b.id)
    assert c.paired == 12 and not c.regressions and not c.fixes
    for m in c.metrics:
        assert m.difference == 0 and m.p_value == 1.0, m.key
    assert c.candidate.usage.cached == 12  # the second run answered from the cache
    assert c.candidate.latency.n == 0 and c.baseline.latency.n == 12


async def test_cases_only_in_one_run_and_changed_suite_are_reported(store: Store) -> None:
    a = await evalbook.arun(summary_suite(10, versions=(4,)), store=store, prompt_version=4)
    b = await evalbook.arun(summary_suite(12, versions=(4,)), store=store, prompt_version=4)
    c = compare_runs(store, a.id, b.id)
    assert c.paired == 10
    assert [k.case_id for k in c.only_in_candidate] == ["doc-010", "doc-011"]
    assert any("changed between the runs" in w for w in c.warnings)
    assert any("2 only in the candidate" in w for w in c.warnings)


async def test_errored_cases_are_in_no_mean_and_latency_leaves_them_out(store: Store) -> None:
    base = summary_suite(6, versions=(4,))
    a = await evalbook.arun(base, store=store, prompt_version=4)
    fail = evalbook.ModelConfig(provider="mock", name="fail", params={"kind": "fatal"})
    b = await evalbook.arun(base, store=store, model=fail, prompt_version=4, max_attempts=1)
    c = compare_runs(store, a.id, b.id)
    score = c.metric("score")
    # One rule with the run's own score: errored cases are in no mean, paired or not.
    assert score is not None and score.n == 0 and score.candidate is None
    assert c.candidate.usage.errored == 6 and c.candidate.usage.error_rate == 100.0
    assert c.candidate.latency.n == 0
    assert len(c.regressions) == 6
    assert {f.candidate_status for f in c.regressions} == {"error"}
    faith = c.metric("faithfulness")
    assert faith is not None and faith.n == 0  # an errored case has no scorer verdict
