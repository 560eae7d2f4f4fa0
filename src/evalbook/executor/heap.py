"""Keep the collector off the suite while a run executes.

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

__all__ = ["frozen_heap"]

_running = 0
_lock = threading.Lock()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap for the block; the last block of the process to end unfreezes."""
    global _running
    with _lock:
        _running += 1
        gc.freeze()
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                gc.unfreeze()
