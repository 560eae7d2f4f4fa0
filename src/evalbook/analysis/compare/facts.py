"""A run as columns: the few per-case numbers every comparison reads, in numpy arrays.

Why columns and not :class:`~evalbook.core.result.Result` objects: comparing two runs of
100,000 cases must take seconds and little memory, and a result carries its prompt,
output and attempts. The store hands over only the columns below, as lists per chunk
(``storage/columns.py``); every statistic after that is vectorised. What is not paired
case by case (tokens, cost, counts) is summed by the database.

Conventions are those of the run aggregates (``executor/aggregate.py``), so a compared
mean equals the recorded metric: an errored case has no score (NaN) and is left out of
every mean, paired or not; a scorer's mean covers the cases it scored; latency leaves
cached and errored cases out; tokens and cost count what the run consumed (cached answers are free).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evalbook.core.run import RunRecord
from evalbook.storage.store import Store

__all__ = ["ERROR", "FAILED", "PASSED", "RunFacts", "ScorerColumn", "load_facts"]

PASSED, FAILED, ERROR = 0, 1, 2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScorerColumn:
    """One scorer's scores over a run's cases (NaN where it gave none)."""

    name: str
    higher_is_better: bool
    scores: FloatArray


@dataclass(frozen=True)
class RunFacts:
    """Per-case columns of one run; index ``i`` is the case ``keys[i]``, and keys are
    sorted by ``(case_id, epoch)``."""

    run: RunRecord
    keys: list[tuple[str, int]]
    status: npt.NDArray[np.int8]
    score: FloatArray
    sections: npt.NDArray[np.object_]
    scorers: dict[str, ScorerColumn]
    latency: FloatArray  # model latencies only: not per case
    usage: dict[str, Any]  # counts, tokens and cost, as latency.usage_summary reads them
    served: list[str]  # distinct served builds (model+fingerprint), first seen first

    @property
    def size(self) -> int:
        return len(self.keys)

    @property
    def passed(self) -> BoolArray:
        mask: BoolArray = self.status == PASSED
        return mask


def load_facts(store: Store, run: RunRecord) -> RunFacts:
    """Read a run's per-case columns (chunk by chunk) into arrays, sorted by case key."""
    seqs: list[int] = []
    case_ids: list[str] = []
    epochs: list[int] = []
    status: list[int] = []
    score: list[float | None] = []
    sections: list[str | None] = []
    latency: list[float | None] = []
    served: list[str] = []
    usage = {"cached": 0, "input_tokens": 0, "output_tokens": 0, "cost": 0.0, "unpriced": 0}
    for chunk in store.case_columns(run.id):
        seqs += chunk["seq"]
        case_ids += chunk["case_id"]
        epochs += chunk["epoch"]
        status += chunk["status"]
        score += chunk["score"]
        sections += chunk["section"]
        latency += chunk["latency"]
        served += [b for b in chunk["served"] if b and b not in served]
        for key in usage:
            usage[key] += chunk[key]
    # Cases in key order: two runs of one suite then align without a lookup.
    keys = list(zip(case_ids, epochs, strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    index = np.asarray(order, dtype=np.int64)
    codes = np.asarray(status, dtype=np.int8)[index] if keys else np.zeros(0, np.int8)
    raw = np.asarray(score, dtype=np.float64)[index] if keys else np.zeros(0)
    section_array = np.empty(len(keys), dtype=object)
    section_array[:] = [sections[i] for i in order]
    lat = np.asarray(latency, dtype=np.float64)  # None → NaN (cached, errored, unknown)
    seq_sorted = np.asarray(seqs, dtype=np.int64)[index] if keys else np.zeros(0, np.int64)
    total_cost = float(usage.pop("cost"))
    unpriced = usage.pop("unpriced")
    errored = codes == ERROR
    return RunFacts(
        run=run,
        keys=[keys[i] for i in order],
        status=codes,
        score=np.where(errored, np.nan, raw),  # an errored case is in no mean
        sections=section_array,
        scorers=_scorer_columns(store, run.id, seq_sorted),
        latency=lat[~np.isnan(lat)],
        usage={
            "total": len(keys),
            "passed": int(np.count_nonzero(codes == PASSED)),
            "failed": int(np.count_nonzero(codes == FAILED)),
            "errored": int(np.count_nonzero(errored)),
            **usage,
            "cost": None if unpriced else total_cost,  # one unknown price: unknown, not 0
        },
        served=[b.removesuffix("+") for b in served],
    )


def _scorer_columns(store: Store, run_id: str, seqs: IntArray) -> dict[str, ScorerColumn]:
    """Per scorer name, the mean of its scores on each case (two scorers may share a
    name, as in the aggregates); NaN where it gave none.

    A verdict names its result by plan position (``seq``, unique within a run); a sorted
    copy of the cases' positions maps it back to the case's row."""
    directions = store.scorer_directions(run_id)
    names = sorted(directions)
    if not names or seqs.size == 0:
        return {}
    order = np.argsort(seqs, kind="stable")
    ordered = seqs[order]
    where: list[IntArray] = []
    codes: list[IntArray] = []
    values: list[FloatArray] = []
    for seq, code, value in store.score_columns(run_id, names):
        seq_int = np.asarray(seq, dtype=np.int64)
        found = np.minimum(np.searchsorted(ordered, seq_int), ordered.size - 1)
        where.append(np.where(ordered[found] == seq_int, order[found], -1))
        codes.append(np.asarray(code, dtype=np.int64))
        values.append(np.asarray(value, dtype=np.float64))  # None → NaN
    at = np.concatenate(where) if where else np.zeros(0, np.int64)
    code_of = np.concatenate(codes) if codes else np.zeros(0, np.int64)
    value_of = np.concatenate(values) if values else np.zeros(0)
    n = seqs.size
    usable = (at >= 0) & np.isfinite(value_of)
    columns = {}
    for k, name in enumerate(names):
        keep = usable & (code_of == k)
        sums = np.bincount(at[keep], weights=value_of[keep], minlength=n)
        counts = np.bincount(at[keep], minlength=n)
        means = np.full(n, np.nan)
        np.divide(sums, counts, out=means, where=counts > 0)
        columns[name] = ScorerColumn(name, directions[name], means)
    return columns
