"""One thread for every database call of a run.

Why one and not asyncio's default pool: SQLite wants a single writer anyway, and every
extra thread gets its own glibc malloc arena. With the default pool (up to CPU count + 4
threads) a 100,000-case run's RSS grew from 300 to 560 MB in arenas alone, while the
Python heap stayed flat (tracemalloc); with one store thread it stays at ~305 MB.

Reads that feed the run (the producer's batched cache lookups) go to a second thread
(:meth:`StoreIO.read`): on the writer's thread a lookup waited behind a batch of results
being written, and the workers ran dry meanwhile (SQLite in WAL mode reads beside a
writer; PostgreSQL and Redis take concurrent connections anyway).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoreIO:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalbook-store")
        self._reads: ThreadPoolExecutor | None = None

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn`` on the reading thread (started on first use): a read that must not wait
        for the writes queued on the store thread."""
        if self._reads is None:
            self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalbook-read")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Every call was awaited before this: nothing is left to wait for."""
        self._pool.shutdown(wait=False)
        if self._reads is not None:
            self._reads.shutdown(wait=False)
