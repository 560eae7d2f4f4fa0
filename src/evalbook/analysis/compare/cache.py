"""Comparisons of finished runs, kept in memory: a run that has finished does not change
(until a review or a rescore, which change its record), so the second look at a
comparison of two 100,000-case runs costs a dictionary lookup instead of a second.

The key holds what a finished run's record says about its results (status, finish time,
counts, score, human feedback); anything that changes them changes the key. A run still
going is compared afresh every time.

The server computes the comparison of each newly completed run with the previous run of
its suite ahead of the first look (``server/services.py``); a request asking for a
comparison being computed waits for that computation instead of starting a second one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from evalbook.analysis.compare.comparison import Comparison
from evalbook.analysis.compare.runs import compare_runs
from evalbook.core.run import RunRecord
from evalbook.storage.store import Store

__all__ = ["cached_comparison", "clear_comparisons", "is_cached"]

#: Comparisons kept (each is small: metrics and flips, no texts).
KEEP = 16

_CACHE: OrderedDict[Hashable, Comparison] = OrderedDict()
#: Comparisons being computed now, set when done (kept or failed).
_PENDING: dict[Hashable, threading.Event] = {}
_LOCK = threading.Lock()


def _state(run: RunRecord) -> Hashable:
    return (
        run.id,
        run.status.value,
        run.finished_at,
        run.counts.model_dump_json(),
        run.score,
        run.feedback_scores,
    )


def cached_comparison(
    store: Store, baseline: RunRecord, candidate: RunRecord, *, confidence: float = 0.95
) -> Comparison:
    """``compare_runs(store, baseline, candidate)``, from memory when both runs have
    finished and were compared before in the same state (same store)."""
    if not (baseline.status.finished and candidate.status.finished):
        return compare_runs(store, baseline, candidate, confidence=confidence)
    key = _key(store, baseline, candidate, confidence)
    while True:
        with _LOCK:
            found = _CACHE.get(key)
            if found is not None:
                _CACHE.move_to_end(key)
                return found
            pending = _PENDING.get(key)
            if pending is None:
                _PENDING[key] = threading.Event()
                break
        pending.wait()  # then the cache has it, or that computation failed: try here
    try:
        comparison = compare_runs(store, baseline, candidate, confidence=confidence)
        with _LOCK:
            _CACHE[key] = comparison
            while len(_CACHE) > KEEP:
                _CACHE.popitem(last=False)
        return comparison
    finally:
        with _LOCK:
            _PENDING.pop(key).set()


def _key(store: Store, baseline: RunRecord, candidate: RunRecord, confidence: float) -> Hashable:
    return (str(store.engine.url), _state(baseline), _state(candidate), confidence)


def is_cached(
    store: Store, baseline: RunRecord, candidate: RunRecord, *, confidence: float = 0.95
) -> bool:
    """Whether :func:`cached_comparison` would answer from memory now."""
    with _LOCK:
        return _key(store, baseline, candidate, confidence) in _CACHE


def clear_comparisons() -> None:
    with _LOCK:
        _CACHE.clear()
