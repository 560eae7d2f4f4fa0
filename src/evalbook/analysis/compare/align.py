"""Pair two runs case by case: the same ``(case_id, epoch)`` in both.

Why by identity and not by position: a suite may gain, lose or reorder cases between
runs, and a run may be limited to some cases. Only identical keys are paired; the rest
is reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalbook.analysis.compare.facts import RunFacts

__all__ = ["Alignment", "align"]


@dataclass(frozen=True)
class Alignment:
    """``baseline.keys[a[k]] == candidate.keys[b[k]]`` for every ``k``, in candidate order."""

    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    only_a: list[tuple[str, int]]
    only_b: list[tuple[str, int]]

    @property
    def size(self) -> int:
        return int(self.a.size)


def align(baseline: RunFacts, candidate: RunFacts) -> Alignment:
    if baseline.keys == candidate.keys:  # the usual case: same suite, same cases
        same = np.arange(baseline.size, dtype=np.int64)
        return Alignment(a=same, b=same, only_a=[], only_b=[])
    index = {key: i for i, key in enumerate(baseline.keys)}
    ia: list[int] = []
    ib: list[int] = []
    only_b: list[tuple[str, int]] = []
    for j, key in enumerate(candidate.keys):
        i = index.pop(key, None)
        if i is None:
            only_b.append(key)
        else:
            ia.append(i)
            ib.append(j)
    return Alignment(
        a=np.asarray(ia, dtype=np.int64),
        b=np.asarray(ib, dtype=np.int64),
        only_a=sorted(index),
        only_b=sorted(only_b),
    )
