"""Pairwise judging end to end, on both databases: two recorded runs, a judge as a
function (``python:`` provider), the comparison and its judgments recorded."""

from __future__ import annotations

import pytest

from evalbook.errors import ConfigError, UnknownNameError, UserError
from evalbook.executor import pairwise as executor_pairwise
from evalbook.executor.pairwise_job import judge_pairwise, pairwise_result
from evalbook.storage.pairwise import get_comparison, iter_judgments, list_comparisons
from evalbook.storage.store import Store

from . import pairwise_runs
from .pairwise_runs import FIX, HERE, make_run

BASELINE = {
    "c0": "Lyon.",
    "c1": "Paris is the capital.",
    "c2": "It is Paris.",
    "c3": "Lyon",
    "c4": "Nice, I think",
    "c5": "Paris",  # only in the baseline
    "c7": "Paris",
}
CANDIDATE = {
    "c0": "Paris, of course.",  # win
    "c1": "Lyon.",  # loss
    "c2": "Paris!",  # tie: both say Paris
    "c3": "Marseille",  # tie: neither does
    "c4": "Paris",  # win
    "c6": "Paris",  # only in the candidate
    "c7": None,  # the candidate errored: skipped
}


@pytest.fixture
async def runs(store: Store) -> tuple[str, str]:
    return (await make_run(store, BASELINE)).id, (await make_run(store, CANDIDATE)).id


async def test_a_judge_that_always_prefers_the_first_answer_is_all_position_bias(
    store: Store, runs: tuple[str, str]
) -> None:
    base, cand = runs
    result = await judge_pairwise(store, base, cand, judge=f"{FIX}:first_judge")
    s = result.summary
    assert s is not None
    assert s.position_bias_rate == 1.0 and s.favoured_slot == "first" and s.unreliable
    assert (s.judged, s.wins, s.losses, s.ties, s.errors) == (5, 0, 0, 5, 0)
    assert s.win_rate is None and s.score == 0.5
    judgments = list(iter_judgments(store, result.id))
    assert {j.outcome for j in judgments} == {"tie"}
    assert {(j.candidate_first, j.baseline_first) for j in judgments} == {("A", "A")}


async def test_a_fair_judge_shows_no_position_bias_and_exact_outcomes(
    store: Store, runs: tuple[str, str]
) -> None:
    base, cand = runs
    result = await judge_pairwise(store, base, cand, judge=f"{FIX}:fair_pair_judge")
    s = result.summary
    assert s is not None
    assert s.position_bias_rate == 0.0 and not s.unreliable
    assert (s.judged, s.wins, s.losses, s.ties, s.errors) == (5, 2, 1, 2, 0)
    assert s.win_rate == pytest.approx(2 / 3) and s.score == pytest.approx(3 / 5)
    assert s.inconsistent == 0
    # Cases only in one run, and a case the candidate errored on, are counted, not judged.
    assert (result.paired, result.only_in_baseline, result.only_in_candidate) == (6, 1, 1)
    assert result.skipped == 1
    assert any("only in the baseline" in w for w in result.warnings)
    assert any("skipped" in w for w in result.warnings)
    assert result.status == "completed" and result.judge == f"{FIX}:fair_pair_judge"
    assert (result.criterion, result.template) == ("helpfulness", "pairwise@1")
    assert result.judge_calls == 10 and result.cached_replies == 0
    assert result.cost_usd is None  # no tokens reported: the cost is unknown, never 0

    by_case = {j.case_id: j for j in iter_judgments(store, result.id)}
    assert list(iter_judgments(store, result.id, batch_size=2)) == list(by_case.values())
    assert sorted(by_case) == ["c0", "c1", "c2", "c3", "c4"]
    assert {c: j.outcome for c, j in by_case.items()} == {
        "c0": "win",
        "c1": "loss",
        "c2": "tie",
        "c3": "tie",
        "c4": "win",
    }
    c0 = by_case["c0"]
    assert (c0.candidate_first, c0.baseline_first) == ("A", "B")
    assert c0.length_diff == len("Paris, of course.") - len("Lyon.")
    assert c0.detail["candidate_first"]["reason"] == "Checked both."
    assert c0.detail["baseline_first"]["cached"] is False

    record = get_comparison(store, result.id[:8])
    assert record.baseline_run_id == base and record.candidate_run_id == cand
    assert record.judge["temperature"] == 0.0 and record.judge["seed"] == 0
    assert record.summary["status"] == "completed"
    assert [c.id for c in list_comparisons(store, base)] == [result.id]
    assert [c.id for c in list_comparisons(store, cand)] == [result.id]
    assert pairwise_result(store, result.id) == result


async def test_the_longer_answer_winning_every_decisive_pair_shows(store: Store) -> None:
    base = (await make_run(store, {"a": "Paris", "b": "A long answer: Lyon", "c": "same"})).id
    cand = (await make_run(store, {"a": "It is Paris, on the Seine", "b": "Lyon", "c": "SAME"})).id
    result = await judge_pairwise(store, base, cand, judge=f"{FIX}:longer_pair_judge")
    s = result.summary
    assert s is not None
    assert (s.wins, s.losses, s.ties) == (1, 1, 1)
    assert (s.longer_won, s.longer_decisive, s.longer_won_rate) == (2, 2, 1.0)
    assert s.length_win_correlation == pytest.approx(1.0)
    assert s.position_bias_rate == 0.0


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        (f"{FIX}:mute_judge", "FatalProviderError"),  # the judge call itself fails
        (f"{HERE}:mute_pair_judge", "no 'VERDICT: A|B|TIE' line"),  # no verdict in it
    ],
)
async def test_a_judge_without_a_verdict_makes_errors_not_ties(
    store: Store, runs: tuple[str, str], judge: str, message: str
) -> None:
    base, cand = runs
    result = await judge_pairwise(store, base, cand, judge=judge)
    s = result.summary
    assert s is not None
    assert (s.n, s.errors, s.judged, s.ties) == (5, 5, 0, 0)
    assert s.position_bias_rate is None
    assert any("no verdict on 5 pair(s)" in w for w in result.warnings)
    judgments = list(iter_judgments(store, result.id))
    assert {j.outcome for j in judgments} == {"error"}
    assert {j.candidate_first for j in judgments} == {None}
    assert message in judgments[0].detail["candidate_first"]["error"]


async def test_a_second_identical_comparison_is_served_from_the_judge_cache(
    store: Store, runs: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, cand = runs
    monkeypatch.setattr(executor_pairwise, "PAGE", 2)  # several pages of pairs …
    monkeypatch.setattr(executor_pairwise, "BATCH", 2)  # … and of judgments written
    judge = f"{HERE}:counting_judge"
    pairwise_runs.CALLS.clear()
    first = await judge_pairwise(store, base, cand, judge=judge, concurrency=2)
    assert len(pairwise_runs.CALLS) == 10 and first.judge_calls == 10
    assert len(list(iter_judgments(store, first.id))) == 5

    second = await judge_pairwise(store, base, cand, judge=judge)
    assert len(pairwise_runs.CALLS) == 10  # no new judge call
    assert second.judge_calls == 0 and second.cached_replies == 10
    assert second.summary == first.summary and second.id != first.id
    assert {j.detail["candidate_first"]["cached"] for j in iter_judgments(store, second.id)} == {
        True
    }

    third = await judge_pairwise(store, base, cand, judge=judge, use_cache=False)
    assert len(pairwise_runs.CALLS) == 20 and third.judge_calls == 10
    assert len(list_comparisons(store, base)) == 3


async def test_the_judges_tokens_and_cost_are_summed(store: Store, runs: tuple[str, str]) -> None:
    base, cand = runs
    judge = {
        "provider": "python",
        "name": "tests.executor.pairwise_runs:priced_judge",
        "price": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
    }
    result = await judge_pairwise(store, base, cand, judge=judge)
    assert (result.input_tokens, result.output_tokens) == (100, 20)
    assert result.cost_usd == pytest.approx(10 * 14e-6)
    judgments = list(iter_judgments(store, result.id))
    assert [j.cost_usd for j in judgments] == pytest.approx([28e-6] * 5)
    assert judgments[0].detail["baseline_first"]["input_tokens"] == 10
    assert get_comparison(store, result.id).summary["cost_usd"] == pytest.approx(14e-5)


async def test_progress_is_reported_per_pair(store: Store, runs: tuple[str, str]) -> None:
    base, cand = runs
    seen: list[tuple[int, int]] = []
    await judge_pairwise(
        store,
        base,
        cand,
        judge=f"{FIX}:fair_pair_judge",
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert len(seen) == 6 and seen[-1] == (6, 6)


async def test_a_reference_criterion_shows_the_judge_the_expected_answer(store: Store) -> None:
    base = (await make_run(store, {"a": "Lyon", "b": "Paris"}, expected="Paris")).id
    cand = (await make_run(store, {"a": "Paris", "b": "Paris"}, expected="Paris")).id
    judge = f"{HERE}:reference_judge"
    result = await judge_pairwise(store, base, cand, judge=judge, criterion="correctness")
    assert result.summary is not None
    assert (result.summary.wins, result.summary.ties) == (1, 1)

    # Without an expected value a reference-based criterion cannot judge: an error.
    bare_base = (await make_run(store, {"a": "Lyon"})).id
    bare_cand = (await make_run(store, {"a": "Paris"})).id
    bare = await judge_pairwise(store, bare_base, bare_cand, judge=judge, criterion="correctness")
    assert bare.summary is not None and bare.summary.errors == 1
    [judgment] = iter_judgments(store, bare.id)
    assert "no expected value" in judgment.detail["error"]


async def test_a_custom_criterion_is_recorded(store: Store, runs: tuple[str, str]) -> None:
    base, cand = runs
    tone = {"name": "tone", "description": "Which answer is more polite?"}
    result = await judge_pairwise(store, base, cand, judge=f"{FIX}:fair_pair_judge", criterion=tone)
    assert result.criterion == "tone"
    assert result.criterion_description == "Which answer is more polite?"
    assert pairwise_result(store, result.id).criterion_description == tone["description"]


async def test_wrong_inputs_fail_before_anything_is_recorded(
    store: Store, runs: tuple[str, str]
) -> None:
    base, cand = runs
    with pytest.raises(UserError, match="compared with itself"):
        await judge_pairwise(store, base, base, judge=f"{FIX}:first_judge")
    with pytest.raises(UserError, match="unknown criterion 'wit'"):
        await judge_pairwise(store, base, cand, judge=f"{FIX}:first_judge", criterion="wit")
    with pytest.raises(UnknownNameError, match="unknown provider 'no-such-provider'"):
        await judge_pairwise(store, base, cand, judge="no-such-provider:x")
    with pytest.raises(ConfigError, match="unknown judge template"):
        await judge_pairwise(store, base, cand, judge=f"{FIX}:first_judge", template="nope")
    assert list_comparisons(store) == []


async def test_a_judge_that_cannot_be_loaded_leaves_a_failed_comparison(
    store: Store, runs: tuple[str, str]
) -> None:
    base, cand = runs
    with pytest.raises(ConfigError, match="cannot import"):
        await judge_pairwise(store, base, cand, judge="python:no_such_module:judge")
    [record] = list_comparisons(store)
    assert record.summary["status"] == "failed"
    assert "cannot import" in record.summary["error"]
