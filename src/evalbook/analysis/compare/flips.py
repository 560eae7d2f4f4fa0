"""Cases whose verdict changed between two runs: what a reviewer reads first.

A *regression* passed in the baseline and does not in the candidate (failed or errored);
a *fix* is the reverse. Regressions sort worst first (most negative score delta), fixes
best first, so the top of each list is the case most worth opening.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter

from evalbook.analysis.compare.comparison import Flip
from evalbook.analysis.compare.facts import RunFacts

__all__ = ["STATUS_NAMES", "find_flips", "sort_flips"]

STATUS_NAMES = ("passed", "failed", "error")
SortKey = Literal["delta", "case", "section"]


def find_flips(
    a: RunFacts,
    b: RunFacts,
    ia: npt.NDArray[np.int64],
    ib: npt.NDArray[np.int64],
) -> tuple[list[Flip], list[Flip]]:
    """``(regressions, fixes)`` among the paired cases ``a[ia[k]]`` ↔ ``b[ib[k]]``."""
    passed_a = a.passed[ia]
    passed_b = b.passed[ib]
    regressions = _flips(a, b, ia, ib, np.flatnonzero(passed_a & ~passed_b))
    fixes = _flips(a, b, ia, ib, np.flatnonzero(~passed_a & passed_b))
    return sort_flips(regressions, "delta"), sort_flips(fixes, "delta", reverse=True)


def _flips(
    a: RunFacts,
    b: RunFacts,
    ia: npt.NDArray[np.int64],
    ib: npt.NDArray[np.int64],
    where: npt.NDArray[np.intp],
) -> list[Flip]:
    # Columns first (vectorised), then one pydantic call for the whole list: thousands of
    # flips in a 100k-case comparison cost milliseconds, not a model call each.
    i, j = ia[where], ib[where]
    # A flip shows the verdict: an errored side has status ``error`` and reads 0 here
    # (it is in no mean; this is a display of the change, not a statistic).
    score_a, score_b = np.nan_to_num(a.score[i]), np.nan_to_num(b.score[j])
    rows = [
        {
            "case_id": a.keys[x][0],
            "epoch": a.keys[x][1],
            "section": a.sections[x],
            "baseline_status": STATUS_NAMES[sx],
            "candidate_status": STATUS_NAMES[sy],
            "baseline_score": fa,
            "candidate_score": fb,
            "delta": fb - fa,
        }
        for x, sx, sy, fa, fb in zip(
            i.tolist(),
            a.status[i].tolist(),
            b.status[j].tolist(),
            score_a.tolist(),
            score_b.tolist(),
            strict=True,
        )
    ]
    return _FLIP_LIST.validate_python(rows)


_FLIP_LIST = TypeAdapter(list[Flip])


def sort_flips(flips: list[Flip], key: SortKey = "delta", *, reverse: bool = False) -> list[Flip]:
    """Sort by score delta (ascending unless ``reverse``), case id or section; ties by case."""
    if key == "case":
        return sorted(flips, key=lambda f: (f.case_id, f.epoch), reverse=reverse)
    if key == "section":
        return sorted(flips, key=lambda f: (f.section or "", f.case_id, f.epoch), reverse=reverse)
    ordered = sorted(flips, key=lambda f: (f.case_id, f.epoch))
    return sorted(ordered, key=lambda f: f.delta, reverse=reverse)
