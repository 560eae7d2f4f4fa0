"""The statistics of a pairwise comparison: who won, how sure, and can the judge be trusted.

Pure: records in, :class:`PairwiseSummary` out. Rates are over the *judged* pairs (a
verdict in both orders); errors are counted apart, never folded into ties. How a verdict
pair becomes a win, loss or tie is :func:`evalbook.core.pairwise.pair_outcome`.

The formulas, and why:

- ``win_rate`` = wins / (wins + losses), with a Wilson interval: among the pairs the
  judge decided consistently, the candidate's share. Ties say nothing about which answer
  is better, so they are reported on their own (``tie_rate``) rather than diluting it.
- ``score`` = (wins + ½ ties) / judged, the usual "ties count half" win rate, with a
  Wilson interval that counts a tie as half a success. That interval is conservative —
  a tie (0.5) varies less than a 0/1 outcome, so Wilson's Bernoulli variance is an upper
  bound — stays inside [0, 1], and is never zero-width on a handful of all-tie cases,
  where a t interval would claim [0.5, 0.5].
- ``position_bias_rate`` = share of judged pairs whose two verdicts named the same
  *slot* (A/A or B/B), i.e. followed the position rather than the answer, with a Wilson
  interval. A judge that always answers "A" scores 1.0 (and every outcome is a tie); a
  judge that reads the answers scores 0. ``first_position_rate`` is the share of single
  decisive verdicts (two per pair) that picked slot A: 0.5 is no slot preference.
- ``inconsistency_rate`` = share of judged pairs whose orders did not name the same
  answer: the position-biased ones plus those with a tie in one order only.
- Verbosity: ``length_diff`` is len(candidate) − len(baseline) in characters.
  ``longer_won_rate`` is, among decisive pairs whose answers differ in length, the share
  the longer answer won (0.5 is length-blind); ``length_win_correlation`` is the
  point-biserial correlation (Pearson r) of ``length_diff`` with "the candidate won"
  over the decisive pairs — near +1 the judge rewards length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import median
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from evalbook.core.pairwise import pair_outcome, same_slot
from evalbook.stats.intervals import wilson_interval

__all__ = [
    "POSITION_BIAS_WARNING",
    "PairwiseSummary",
    "VerdictPair",
    "pair_outcome",
    "summarize_pairs",
]

#: Above this position-bias rate a judge's verdicts are called unreliable.
POSITION_BIAS_WARNING = 0.2


class VerdictPair(Protocol):
    """What the statistics read of a judged pair (a stored judgment qualifies)."""

    @property
    def outcome(self) -> str: ...
    @property
    def candidate_first(self) -> str | None: ...
    @property
    def baseline_first(self) -> str | None: ...
    @property
    def length_diff(self) -> int | None: ...


Interval = tuple[float, float]


class PairwiseSummary(BaseModel):
    """Counts, rates with intervals, judge reliability and verbosity (see the module
    docstring for every formula). Rates are ``None`` when nothing was there to count."""

    model_config = ConfigDict(extra="forbid")

    confidence: float
    n: int
    judged: int
    wins: int
    losses: int
    ties: int
    errors: int
    win_rate: float | None
    win_rate_ci: Interval | None
    score: float | None
    score_ci: Interval | None
    tie_rate: float | None
    inconsistent: int
    inconsistency_rate: float | None
    first_slot_twice: int
    second_slot_twice: int
    position_bias_rate: float | None
    position_bias_ci: Interval | None
    first_position_rate: float | None
    favoured_slot: Literal["first", "second"] | None
    mean_length_diff: float | None
    median_length_diff: float | None
    longer_won: int
    longer_decisive: int
    longer_won_rate: float | None
    length_win_correlation: float | None

    @property
    def position_biased(self) -> int:
        return self.first_slot_twice + self.second_slot_twice

    @property
    def unreliable(self) -> bool:
        """The judge followed the slot too often for its verdicts to mean much."""
        return self.position_bias_rate is not None and self.position_bias_rate > (
            POSITION_BIAS_WARNING
        )


def summarize_pairs(records: Iterable[VerdictPair], confidence: float = 0.95) -> PairwiseSummary:
    """The summary of judged pairs (candidate's view: a win is the candidate's)."""
    n = wins = losses = ties = errors = inconsistent = aa = bb = 0
    slot_a = slot_b = 0
    lengths: list[int] = []
    decisive: list[tuple[int, bool]] = []  # (length_diff, candidate won)
    for r in records:
        n += 1
        outcome = r.outcome
        if outcome == "error":
            errors += 1
            continue
        cf, bf = r.candidate_first, r.baseline_first
        wins += outcome == "win"
        losses += outcome == "loss"
        ties += outcome == "tie"
        if outcome == "tie" and (cf, bf) != ("tie", "tie"):
            inconsistent += 1
        if same_slot(cf, bf):
            aa += cf == "A"
            bb += cf == "B"
        slot_a += (cf == "A") + (bf == "A")
        slot_b += (cf == "B") + (bf == "B")
        if r.length_diff is not None:
            lengths.append(r.length_diff)
            if outcome in ("win", "loss"):
                decisive.append((r.length_diff, outcome == "win"))
    judged = n - errors
    decided = wins + losses
    longer = [(diff > 0) == won for diff, won in decisive if diff != 0]
    return PairwiseSummary(
        confidence=confidence,
        n=n,
        judged=judged,
        wins=wins,
        losses=losses,
        ties=ties,
        errors=errors,
        win_rate=_rate(wins, decided),
        win_rate_ci=_ci(wins, decided, confidence),
        score=_rate(wins + ties / 2, judged),
        score_ci=_ci(wins + ties / 2, judged, confidence),
        tie_rate=_rate(ties, judged),
        inconsistent=inconsistent,
        inconsistency_rate=_rate(inconsistent, judged),
        first_slot_twice=aa,
        second_slot_twice=bb,
        position_bias_rate=_rate(aa + bb, judged),
        position_bias_ci=_ci(aa + bb, judged, confidence),
        first_position_rate=_rate(slot_a, slot_a + slot_b),
        favoured_slot="first" if aa > bb else "second" if bb > aa else None,
        mean_length_diff=sum(lengths) / len(lengths) if lengths else None,
        median_length_diff=float(median(lengths)) if lengths else None,
        longer_won=sum(longer),
        longer_decisive=len(longer),
        longer_won_rate=_rate(sum(longer), len(longer)),
        length_win_correlation=_point_biserial(decisive),
    )


def _rate(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _ci(part: float, whole: int, confidence: float) -> Interval | None:
    return wilson_interval(part, whole, confidence) if whole else None


def _point_biserial(pairs: list[tuple[int, bool]]) -> float | None:
    """Pearson r of a length difference with a 0/1 "won"; ``None`` without spread."""
    if len(pairs) < 2:
        return None
    xs = [float(x) for x, _ in pairs]
    ys = [1.0 if won else 0.0 for _, won in pairs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
