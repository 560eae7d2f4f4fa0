"""Keep Python's cyclic collector off what cannot be garbage: a suite being built or
held by a running run.

Why: a run holds its suite (up to 100,000 cases, each a few objects) for its whole life,
and every full pass of Python's cyclic collector walks all of them again although none
can become garbage while the run needs them: it cost about a sixth of the CPU of a
cached run. ``gc.freeze()`` sets what exists when the run starts aside; ``gc.unfreeze()``
when the last run of the process ends hands it back, so a long-lived server or worker
still collects whatever those objects leave behind afterwards. Reference counting frees
objects as usual meanwhile: only cycles among the set-aside objects wait.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "frozen_heap"]

_running = 0
_lock = threading.Lock()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap for the block; the last block of the process to end unfreezes."""
    global _running
    with _lock:
        _running += 1
        if _running == 1:
            # What is already garbage is collected now rather than frozen with the rest
            # (frozen, it would wait for the end of the run; a leaked connection would
            # then warn in whatever runs next).
            gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _running -= 1
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
