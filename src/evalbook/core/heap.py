"""Keep Python's cyclic collector off what cannot be garbage: a suite being built or
held by a running run.

Why: a run holds its suite (up to 100,000 cases, each a few objects) for its whole life,
and every full pass of Python's cyclic collector walks all of them again although none
can become garbage while the run needs them: it cost about a sixth of the CPU of a
cached run. ``gc.freeze()`` sets what exists when the run starts aside; ``gc.unfreeze()``
when the last run of the process ends hands it back, so a long-lived server or worker
still collects whatever those objects leave behind afterwards. Reference counting frees
objects as usual meanwhile: only cycles among the set-aside objects wait.

While the heap is frozen the youngest generation is collected after
:data:`RUN_GC_THRESHOLD` new objects instead of Python's 700: a case's result, scores
and events are a few dozen objects that reference counting frees together, and a
collection every ~20 cases (every tenth one also walking what survived the last ones)
cost 15-30 µs of CPU per cached hit (measured: 0.38-0.44 → 0.14 s of CPU in collections
for a process that loads a suite of 10,000 cases and re-runs it from the cache). Each
collection walks every young object still alive, and while a run executes those are
mostly the results waiting for the writer (up to ``4 × batch_size``, ~23,000 objects, of
which a collection finds none to be garbage): at 20,000 new objects a fully cached
re-run of 10,000 cases spent 0.09-0.13 s in 7 collections of 7-18 ms each, at 100,000
0.006-0.010 s (its wall time 1.25 → 1.16 s, mean of 8 alternating runs; CPU per case of
an uncached run unchanged). Python counts an object freed into its type's free list as
alive, so collections come with the allocations, not with the heap's growth. The
thresholds are handed back with the heap.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

__all__ = [
    "FREEZE_AFTER_S",
    "FREEZE_COLLECTS",
    "RUN_GC_THRESHOLD",
    "collector_paused",
    "freeze_after",
    "frozen_heap",
    "start_up_set_aside",
]

T = TypeVar("T")

#: Inside an event loop, how long after a run starts (or its provider has started, see
#: :func:`freeze_after`) its heap is frozen. The collection that comes first walks every
#: object of the process (~70 ms after a run's imports): made at once, it held back the
#: run's first model request; a moment later it overlaps the wait for the first answers.
FREEZE_AFTER_S = 0.05

#: The oldest generation collected before the freeze (0 and 1: the young ones).
FREEZE_COLLECTS = 1

#: New objects between two collections of the youngest generation while runs execute.
RUN_GC_THRESHOLD = 100_000

_running = 0
_frozen = False
#: What a long-lived process held when its start-up ended is set aside for its life
#: (:func:`start_up_set_aside`): the last run to end freezes it again.
_start_up = False
#: The collector's thresholds from before the freeze, handed back with the heap.
_thresholds: tuple[int, ...] | None = None
_lock = threading.Lock()
#: Inside the block that scheduled the freeze: schedules it again, FREEZE_AFTER_S from now.
_reschedule: ContextVar[Callable[[], None] | None] = ContextVar("heap_reschedule", default=None)


def _collect_and_freeze() -> None:
    """What recently became garbage is collected now rather than frozen with the rest
    (frozen, it would wait for the end of the run; a leaked connection would then warn in
    whatever runs next); then the heap is set aside.

    Only the young generations (:data:`FREEZE_COLLECTS`): a full collection walks every
    object of the process, 35-50 ms of CPU on a 2-core machine after one run of 1,000
    cases, paid again by every run of a long-lived process (a third of what a fully cached
    re-run of 1,000 cases cost). Cycles that already aged into the oldest generation were
    walked by an earlier collection and are few; they wait for the end of the run."""
    global _frozen, _thresholds
    with _lock:
        if _running == 0 or _frozen:
            return
        gc.collect(FREEZE_COLLECTS)
        gc.freeze()
        _frozen = True
        _thresholds = gc.get_threshold()
        gc.set_threshold(max(RUN_GC_THRESHOLD, _thresholds[0]), *_thresholds[1:])


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap for the block; the last block of the process to end unfreezes.
    In a running event loop the freeze comes :data:`FREEZE_AFTER_S` into the block, or
    after the block's :func:`freeze_after` step (a block that ends sooner freezes
    nothing), else at once."""
    global _running, _frozen, _thresholds
    with _lock:
        _running += 1
        first = _running == 1
    handle: asyncio.TimerHandle | None = None
    token = None
    if first:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _collect_and_freeze()
        else:
            handle = loop.call_later(FREEZE_AFTER_S, _collect_and_freeze)

            def reschedule() -> None:
                nonlocal handle
                if handle is not None:
                    handle.cancel()
                handle = loop.call_later(FREEZE_AFTER_S, _collect_and_freeze)

            token = _reschedule.set(reschedule)
    try:
        yield
    finally:
        if token is not None:
            _reschedule.reset(token)
        if handle is not None:
            handle.cancel()
        with _lock:
            _running -= 1
            if _running == 0 and _frozen:
                gc.unfreeze()
                _frozen = False
                if _thresholds is not None:
                    gc.set_threshold(*_thresholds)
                    _thresholds = None
                if _start_up:  # the runs' leftovers collected, the rest set aside again
                    gc.collect()
                    gc.freeze()


async def freeze_after(step: Awaitable[T]) -> T:
    """Await ``step``, a run's start-up inside :func:`frozen_heap` (its provider's start:
    an HTTP client's imports, a local model's load), then schedule the heap's freeze
    :data:`FREEZE_AFTER_S` from its end. Counted from the run's start, the freeze came
    right after the ~90 ms of the HTTP client's imports, before the first request (its
    collection: ~5-10 ms of the first request's start-up at 1,000 cases)."""
    try:
        return await step
    finally:
        reschedule = _reschedule.get()
        if reschedule is not None:
            reschedule()


@contextmanager
def start_up_set_aside() -> Iterator[None]:
    """For the life of a long-lived process (``evalbook serve``): what it holds when its
    start-up ends (modules, routes, schemas, the database's engine) is collected once and
    set aside, handed back when the block ends.

    Why: a full collection walked all of it again with the GIL held, while no request
    moved: with 32 clients asking for a page of the run list, 5 full collections in 4 s
    took 76 ms each (with the modules alone set aside, 36 ms), and the server's CPU per
    page went from 7.98-9.02 to 7.68-8.31 ms once its start-up was set aside. Runs
    executed in the process still freeze their own heap (:func:`frozen_heap`); when the
    last ends, what it left is collected in one full pass and the rest set aside again."""
    global _start_up
    with _lock:
        gc.collect()
        gc.freeze()
        _start_up = True
    try:
        yield
    finally:
        with _lock:
            _start_up = False
            if _running == 0:
                gc.unfreeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection during the block (reference counting still frees objects).

    Why: building a suite of 100,000 cases allocates millions of objects that all stay
    alive, and the collector's passes over them, triggered by the allocations themselves,
    took a third of the load and nine tenths of dumping its definition. The collector is
    turned back on at the end only when it was on at the start.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
