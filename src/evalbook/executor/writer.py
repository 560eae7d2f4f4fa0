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

A large run's batches are written by a process of its own once it has made
``EVALBOOK_WRITER_PROCESS_AFTER`` results, or from its start when the run is known to make
more (:meth:`ResultWriter.expect`; ``executor/writer_process.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

from evalbook.config import writer_process_after
from evalbook.core.result import Result
from evalbook.executor.events import EventSink, ItemDone, ignore
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer_process import (
    WriterProcess,
    WriterProcessGone,
    can_write_apart,
    write_batch,
)
from evalbook.plain_text import get_logger

if TYPE_CHECKING:
    from evalbook.storage.store import Store

log = get_logger("evalbook.executor")


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
        #: Results added so far, and after how many a process of their own writes them
        #: (None: never; also once one failed); the process, once started.
        self.added = 0
        self._apart_after = writer_process_after()
        self.apart: WriterProcess | None = None
        #: The ``ItemDone`` events of each batch handed over and not confirmed written,
        #: oldest first (the writer process answers for a batch when it gets the next).
        self._unconfirmed: deque[list[ItemDone]] = deque()

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
        self.added += 1
        if self._apart_after is not None:
            self.expect(self.added)
        if done is not None:
            self._done.append(done)
        if cache_entry is not None:
            self._cache.append(cache_entry)
        if len(self._results) >= self.batch_size:
            self._wake.set()
            if len(self._results) >= self.max_waiting and not self.held and not self._closed:
                self.full = True
                self._room.clear()

    def expect(self, results: int) -> None:
        """The run will add about ``results`` results: with more than the threshold, the
        writer process starts now rather than at the threshold, ready (~0.3 s of the
        other core) by the time the first batches come (each batch written here meanwhile
        costs this process about six times what handing it over does)."""
        if self._apart_after is not None and results > self._apart_after:
            self._apart_after = None
            self._start_apart()

    def _start_apart(self) -> None:
        """Start the writer process; batches go on through the store thread until it is
        ready (its start does not hold the run up)."""
        # (Asked only now: a streamed run's store loads the storage layer when touched.)
        if not can_write_apart(self.store):
            return
        try:
            self.apart = WriterProcess(self.store)
        except (OSError, TypeError, ValueError) as exc:  # no interpreter to start
            log.warning("the results writer process did not start (%s)", exc)

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
        self._unconfirmed.append(done)
        try:
            confirmed = await self.io.call(self._write, results, cache)
        except BaseException as exc:
            self._error = exc
            self._make_room()  # the workers go on, to meet the error at their next add
            raise
        self._confirmed(confirmed)

    def _confirmed(self, batches: int) -> None:
        """The oldest ``batches`` handed over are written: their events go out. None
        goes out once a write failed (which batch an answer is for is no longer sure)."""
        if self._error is not None:
            self._unconfirmed.clear()
            return
        for _ in range(batches):
            for event in self._unconfirmed.popleft():
                self.on_written(event)

    def _write(self, results: list[tuple[Result, int]], cache: list[dict[str, Any]]) -> int:
        """On the store thread: write a batch; how many of the batches handed over (this
        one or earlier ones) are now known written, oldest first.

        Through the writer process once it is ready (it confirms a batch when it gets
        the next), else through the store."""
        apart = self.apart
        if apart is not None and apart.started():
            try:
                batches, written = apart.save(results, cache)
            except WriterProcessGone:
                return self._written_here(apart)
            self.written += written
            return batches
        self.written += write_batch(self.store, results, cache)
        return 1

    def _drain(self) -> int:
        """On the store thread: read the writer process's answer to its last batch; the
        batches that answer confirmed."""
        apart = self.apart
        if apart is None:
            return 0
        try:
            batches, written = apart.drain()
        except WriterProcessGone:
            return self._written_here(apart)
        self.written += written
        return batches

    def _written_here(self, apart: WriterProcess) -> int:
        """The writer process ended: the batches it did not confirm are written through
        the store (a result it stored already is upserted), and every later one."""
        self.apart = None
        batches = apart.unconfirmed()
        log.warning(
            "the results writer process ended (%s): the run writes its results from its"
            " own process, and again the %d it had not confirmed",
            apart.gone(),
            sum(len(results) for results, _ in batches),
        )
        for results, cache in batches:
            self.written += write_batch(self.store, results, cache)
        return len(batches)

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
        try:
            await asyncio.shield(self._flush())
            if self.apart is not None:
                self._confirmed(await asyncio.shield(self.io.call(self._drain)))
        finally:
            if self.apart is not None:
                await asyncio.shield(self.io.call(self.apart.close))
        if self._error is not None:
            raise self._error
