"""Pairwise statistics from constructed verdict pairs: exact counts, rates and intervals."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from evalbook.core.pairwise import same_slot
from evalbook.stats.pairwise import PairwiseSummary, pair_outcome, summarize_pairs


class Rec(NamedTuple):
    outcome: str
    candidate_first: str | None
    baseline_first: str | None
    length_diff: int | None


def rec(candidate_first: str | None, baseline_first: str | None, diff: int | None = 0) -> Rec:
    return Rec(pair_outcome(candidate_first, baseline_first), candidate_first, baseline_first, diff)


@pytest.mark.parametrize(
    ("candidate_first", "baseline_first", "outcome", "slot"),
    [
        ("A", "B", "win", False),  # the candidate won in both orders
        ("B", "A", "loss", False),  # the baseline won in both orders
        ("tie", "tie", "tie", False),
        ("A", "A", "tie", True),  # slot A won twice: position, not answer
        ("B", "B", "tie", True),
        ("A", "tie", "tie", False),  # inconsistent
        ("tie", "B", "tie", False),
        (None, "A", "error", False),
        ("B", None, "error", False),
        (None, None, "error", False),
    ],
)
def test_a_verdict_pair_maps_to_one_outcome(
    candidate_first: str | None, baseline_first: str | None, outcome: str, slot: bool
) -> None:
    assert pair_outcome(candidate_first, baseline_first) == outcome
    assert same_slot(candidate_first, baseline_first) is slot


def test_a_judge_that_always_says_a_is_all_position_bias_and_all_ties() -> None:
    s = summarize_pairs([rec("A", "A", diff=5)] * 10)
    assert (s.n, s.judged, s.wins, s.losses, s.ties, s.errors) == (10, 10, 0, 0, 10, 0)
    assert s.position_bias_rate == 1.0 and s.favoured_slot == "first" and s.unreliable
    assert s.position_bias_ci == pytest.approx((0.722467, 1.0), abs=1e-6)
    assert s.position_bias_ci is not None and s.position_bias_ci[1] == 1.0
    assert s.first_position_rate == 1.0
    assert s.inconsistent == 10 and s.inconsistency_rate == 1.0
    assert s.win_rate is None and s.win_rate_ci is None  # nothing decisive
    assert s.score == 0.5
    # Ties as half successes: Wilson(5, 10), never the zero-width [0.5, 0.5].
    assert s.score_ci == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert s.tie_rate == 1.0
    assert s.longer_decisive == 0 and s.longer_won_rate is None
    assert s.mean_length_diff == 5.0


def test_a_judge_that_reads_the_answers_shows_no_position_bias() -> None:
    s = summarize_pairs([rec("A", "B")] * 3 + [rec("B", "A")] + [rec("tie", "tie")] * 2)
    assert (s.wins, s.losses, s.ties) == (3, 1, 2)
    assert s.position_bias_rate == 0.0 and s.favoured_slot is None and not s.unreliable
    assert s.position_bias_ci == pytest.approx((0.0, 0.390334), abs=1e-6)
    assert s.position_bias_ci is not None and s.position_bias_ci[0] == 0.0
    assert s.first_position_rate == 0.5 and s.inconsistent == 0


def test_exact_numbers_of_a_mixed_comparison() -> None:
    records = (
        [rec("A", "B")] * 6  # wins
        + [rec("B", "A")] * 2  # losses
        + [rec("tie", "tie"), rec("B", "B"), rec("A", "tie")]  # ties: agreed, slot, one-sided
        + [Rec("error", None, "A", 3)]
    )
    s = summarize_pairs(records)
    assert (s.n, s.judged, s.wins, s.losses, s.ties, s.errors) == (12, 11, 6, 2, 3, 1)
    assert s.win_rate == 0.75
    assert s.win_rate_ci == pytest.approx((0.409275, 0.928521), abs=1e-6)  # Wilson(6, 8)
    assert s.score == pytest.approx(7.5 / 11)
    assert s.score_ci == pytest.approx((0.393166, 0.876349), abs=1e-6)  # Wilson(7.5, 11)
    assert s.tie_rate == pytest.approx(3 / 11)
    assert s.inconsistent == 2 and s.inconsistency_rate == pytest.approx(2 / 11)
    assert (s.first_slot_twice, s.second_slot_twice) == (0, 1)
    assert s.position_bias_rate == pytest.approx(1 / 11) and s.favoured_slot == "second"
    assert s.position_bias_ci == pytest.approx((0.016232, 0.377358), abs=1e-6)
    # Single decisive verdicts: A in 6 wins + 2 losses + 1 one-sided = 9; B in 6 + 2 + 2 = 10.
    assert s.first_position_rate == pytest.approx(9 / 19)
    assert s.mean_length_diff == 0.0  # the errored pair's length is not counted


def test_verbosity_when_the_longer_answer_always_wins() -> None:
    records = [
        rec("A", "B", diff=10),
        rec("A", "B", diff=20),
        rec("B", "A", diff=-10),
        rec("B", "A", diff=-20),
        rec("A", "B", diff=0),  # decisive, same length: not a length contest
        rec("tie", "tie", diff=7),
    ]
    s = summarize_pairs(records)
    assert (s.longer_won, s.longer_decisive, s.longer_won_rate) == (4, 4, 1.0)
    # Point-biserial over the 5 decisive pairs: x = (10, 20, -10, -20, 0), won = (1, 1, 0, 0, 1).
    assert s.length_win_correlation == pytest.approx(0.866025, abs=1e-6)
    assert s.mean_length_diff == pytest.approx(7 / 6)
    assert s.median_length_diff == 3.5


def test_the_shorter_answer_winning_reads_as_zero() -> None:
    s = summarize_pairs([rec("A", "B", diff=-4), rec("B", "A", diff=9)])
    assert s.longer_won_rate == 0.0 and s.length_win_correlation == pytest.approx(-1.0)


def test_nothing_judged_gives_no_rates() -> None:
    s = summarize_pairs([Rec("error", None, None, 2)])
    assert (s.n, s.judged, s.errors) == (1, 0, 1)
    assert s.win_rate is s.score is s.tie_rate is s.position_bias_rate is None
    assert s.score_ci is s.position_bias_ci is s.first_position_rate is None
    assert s.mean_length_diff is s.length_win_correlation is None
    assert not s.unreliable
    empty = summarize_pairs([])
    assert empty.n == 0 and empty.win_rate is None


def test_the_summary_round_trips_through_json() -> None:
    s = summarize_pairs([rec("A", "B", 3), rec("B", "B", -1)], confidence=0.9)
    again = PairwiseSummary.model_validate_json(s.model_dump_json())
    assert again == s and again.confidence == 0.9
