"""The single writer: results and cache entries are written in batches as they finish.

A batch is flushed when it reaches ``batch_size`` or ``interval_s`` after its first item,
so a crash loses at most the items in flight plus one short batch window. Writes run on
the run's store thread so the event loop keeps feeding the model.

A result's ``ItemDone`` event goes out only once its batch is committed (``on_written``):
a progress log never announces a case that a crash then loses and the resumed run asks
again, so a client following the log sees each case once.

When results come faster than they are written (a fully cached run: a hit costs the loop
less than its write costs the store thread), the workers wait for a write once
``4 × batch_size`` results are waiting: memory stays flat. Unbounded, a cached 10,000-case
re-run kept up to 5,000 results waiting (+60 MB).

A streamed run (``executor/streamed.py``) asks its first cases before the run is recorded:
its writer is *held* meanwhile (results wait, cache entries are written: they name no
run), then released once the run exists, or closed held when it never will (a suite
that turned out invalid), its results then dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from evalbook.config import stored_bytes_limit
from evalbook.core.result import Result
from evalbook.executor.events import EventSink, ItemDone, ignore
from evalbook.executor.store_io import StoreIO
from evalbook.storage.stored_values import cacheable  # (no SQLAlchemy: see tests/cli)

if TYPE_CHECKING:
    from evalbook.storage.store import Store


class ResultWriter:
    def __init__(
        self,
        store: Store,
        io: StoreIO,
        *,
        batch_size: int = 200,
        interval_s: float = 0.1,
        on_written: EventSink = ignore,
    ) -> None:
        self.store = store
        self.io = io
        self.on_written = on_written
        self._done: list[ItemDone] = []
        self.batch_size = batch_size
        self.interval_s = interval_s
        self._results: list[tuple[Result, int]] = []
        self._cache: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.written = 0
        #: Results wait while held (the run is not recorded yet); see :meth:`release`.
        self.held = False
        #: Results waiting that make the workers wait for a write (:meth:`room`).
        self.max_waiting = 4 * batch_size
        #: Whether that many are waiting (the workers then await :meth:`room`).
        self.full = False
        self._room = asyncio.Event()
        self._room.set()

    async def __aenter__(self) -> ResultWriter:
        self._task = asyncio.create_task(self._loop(), name="evalbook-result-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add(
        self,
        result: Result,
        seq: int,
        cache_entry: dict[str, Any] | None = None,
        done: ItemDone | None = None,
    ) -> None:
        """Queue ``result``; ``done`` goes to ``on_written`` once the result is recorded."""
        if self._error is not None:
            raise self._error
        self._results.append((result, seq))
        if done is not None:
            self._done.append(done)
        if cache_entry is not None:
            self._cache.append(cache_entry)
        if len(self._results) >= self.batch_size:
            self._wake.set()
            if len(self._results) >= self.max_waiting and not self.held and not self._closed:
                self.full = True
                self._room.clear()

    async def room(self) -> None:
        """Return once the results waiting are being written (see the module's docstring)."""
        await self._room.wait()

    def _make_room(self) -> None:
        self.full = False
        self._room.set()

    async def _loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            await self._flush()

    def release(self) -> None:
        """The run is recorded: the results held so far are written at the next batch."""
        self.held = False
        self._wake.set()

    async def _flush(self) -> None:
        if not self._results and not self._cache:
            return
        results, done = [], []
        if not self.held:
            results, self._results = self._results, []
            done, self._done = self._done, []
            self._make_room()
        cache, self._cache = self._cache, []
        if not results and not cache:
            return
        try:
            await self.io.call(self._write, results, cache)
        except BaseException as exc:
            self._error = exc
            self._make_room()  # the workers go on, to meet the error at their next add
            raise
        for event in done:
            self.on_written(event)

    def _write(self, results: list[tuple[Result, int]], cache: list[dict[str, Any]]) -> None:
        entries = cacheable(cache, stored_bytes_limit()) if cache else []
        if self.store.cache_with_results:  # one transaction, the cache in a savepoint
            self.store.save_results(results, entries)
            self.written += len(results)
            return
        # The record first: a paid answer is never lost to a cache that fails (a cache
        # that fails costs only reuse; see storage.redis_cache).
        if results:
            self.store.save_results(results)
            self.written += len(results)
        self.store.cache_put_many(entries)

    async def close(self) -> None:
        """Stop the loop and write what is left (also when the run is being canceled);
        still held, the results are dropped (their run was never recorded)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._make_room()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(self._task)
        await asyncio.shield(self._flush())
        if self._error is not None:
            raise self._error
