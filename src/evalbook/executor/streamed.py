"""A streamed run: the first cases of a dataset are asked while the rest is still read.

Why: reading, checking and hashing every row of a 100,000-case JSONL dataset took ~2 s
before the first model request. A streamed run loads the suite in a thread (the same
loader, the same checks, the same suite hash as ever) and hands the run the cases it
accepts, in order, up to :func:`early_limit` of them; the run asks those at once.

The run is *recorded* only when the whole suite is loaded and valid: then the checks
that need every case run (a template variable no case defines), the suite and the run
are written, the run's id is announced, and the results asked meanwhile (held by the
writer) are written; the rest of the plan follows as in any run. Until then nothing
names the run in the database, so:

- a bad row or a duplicate case id found late fails the launch exactly as a plain load
  does (one :class:`~evalbook.errors.SuiteError` naming every ``file:line``); the
  answers already asked are not recorded as a run (their cache entries are kept, so the
  corrected suite's run does not pay for them again);
- a run stopped before its suite was loaded leaves nothing to resume, and says so.

Only ``evalbook run`` streams, and only when nothing needs the whole suite before the
first case: see :func:`streamable`. Everything else loads the suite first, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook.core.run import RunRecord
from evalbook.core.suite import Case, Suite
from evalbook.executor.events import RunStarted
from evalbook.executor.plan import WorkItem, iter_items
from evalbook.executor.store_io import StoreIO

if TYPE_CHECKING:
    from evalbook.executor.runner import RunExecutor
    from evalbook.executor.writer import ResultWriter

__all__ = [
    "RunStream", "StreamedSuite", "early_limit", "execute_streamed", "produce_streamed",
    "streamable",
]  # fmt: skip

#: Cases a streamed run may ask before its suite is loaded, per unit of concurrency (and
#: at most :data:`EARLY_MAX`): their results are held in memory until the run is recorded.
EARLY_PER_SLOT = 20
EARLY_MAX = 10_000
#: The loader hands over this many cases, then waits (at most :data:`PAUSE_S`) until the
#: run has queued them: two threads busy at once share one interpreter lock, and a run's
#: own start-up (imports, the provider, the first render) took ~1 s instead of ~50 ms
#: while the loader read on beside it (100,000 rows, load ~3 on 2 cores).
FIRST_CASES = 256
PAUSE_S = 5.0
#: The interpreter's switch interval while the loader reads (seconds; CPython's default
#: is 0.005). The run's thread releases the lock at every socket call and then waited up
#: to 5 ms to take it back from the loader: opening its connections and sending its first
#: requests took ~1 s at 100,000 rows (the first request reached the server 1.6 s after
#: the process started, against 0.55 s at 1,000); with 0.1 ms, 0.60-0.63 s.
LOADER_SWITCH_S = 0.0001


def early_limit(concurrency: int) -> int:
    """How many cases a run of ``concurrency`` may ask before its suite is loaded."""
    return min(EARLY_MAX, max(EARLY_PER_SLOT * concurrency, 256))


class _Stopped(Exception):
    """Raised into the loader to stop reading (nobody wants the suite any more)."""


class StreamedSuite:
    """A suite file loading in a thread: its head at once, then its cases as read.

    :meth:`head` waits for everything but the cases (``None``: the file has no dataset
    include, or its head has a problem: call :meth:`suite` for the whole story).
    :meth:`early_cases` hands over the first cases as they are accepted; :meth:`loaded`
    waits for the complete suite (or raises what the load raised).
    """

    def __init__(self, path: Path, *, limit: int = EARLY_MAX) -> None:
        self.path = path
        self.limit = limit
        self._lock = threading.Lock()
        self._head: Suite | None = None
        self._head_ready = threading.Event()
        self._done = threading.Event()
        self._suite: Suite | None = None
        self._error: BaseException | None = None
        #: What the run needs besides its suite failed (see :meth:`fail`).
        self._failure: BaseException | None = None
        self._buffer: list[Case] = []
        self._handed = 0
        self._taking = True  # cases are handed over (False: declined, or the limit met)
        #: Set once the run has queued the first cases (or wants none): the loader reads on.
        self._go = threading.Event()
        self._stop = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._load, name="evalbook-suite-load", daemon=True)

    @classmethod
    def start(cls, path: Path, *, limit: int = EARLY_MAX) -> StreamedSuite:
        streamed = cls(path, limit=limit)
        streamed._thread.start()
        return streamed

    # -- the loader's thread ------------------------------------------------------------------

    def _load(self) -> None:
        from evalbook.suites import load_suite

        interval = sys.getswitchinterval()
        sys.setswitchinterval(LOADER_SWITCH_S)
        try:
            self._suite = load_suite(self.path, on_head=self._on_head, on_case=self._on_case)
        except BaseException as exc:  # handed to whoever waits (incl. _Stopped)
            self._error = exc
        finally:
            sys.setswitchinterval(interval)
            with self._lock:
                self._taking = False
            self._head_ready.set()
            self._done.set()
            self._notify()

    def _on_head(self, head: Suite) -> None:
        self._head = head
        self._head_ready.set()

    def _on_case(self, case: Case) -> None:
        if self._stop:
            raise _Stopped
        with self._lock:
            if not self._taking:
                return
            self._buffer.append(case)
            self._handed += 1
            if self._handed >= self.limit:
                self._taking = False
            first = len(self._buffer) == 1
            handed = self._handed
        if first or not self._taking:
            self._notify()
        if handed == FIRST_CASES and self._head is not None:
            self._notify()
            self._go.wait(PAUSE_S)

    def _notify(self) -> None:
        with self._lock:
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            # a closed loop: nobody waits any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    # -- the caller's side --------------------------------------------------------------------

    def head(self) -> Suite | None:
        """The suite without its cases, once built (``None``: see the class)."""
        self._head_ready.wait()
        return self._head

    def decline(self) -> None:
        """Hand over no cases (the run loads the suite first): nothing is kept for one."""
        with self._lock:
            self._taking = False
            self._buffer.clear()
        self._go.set()

    def stop(self) -> None:
        """Stop loading at the next case (the run was canceled)."""
        self._stop = True
        self.decline()

    def fail(self, error: BaseException) -> None:
        """Something the run needs besides its suite failed (``evalbook run``: opening
        its database): no more cases are handed over, and the run's wait for its suite
        raises ``error`` instead of asking on until the suite is loaded."""
        with self._lock:
            self._failure = error
        self.stop()
        self._notify()

    def suite(self) -> Suite:
        """The complete suite, waiting for the load (raises what the load raised)."""
        self._done.wait()
        return self._result()

    async def loaded(self) -> Suite:
        """:meth:`suite` without blocking the event loop."""
        if not self._done.is_set():
            await self._ready()
        return self._result()

    def _result(self) -> Suite:
        if self._failure is not None:
            raise self._failure
        if self._error is not None:
            raise self._error
        assert self._suite is not None
        return self._suite

    async def _ready(self) -> None:
        wake = self._attach()
        while not self._done.is_set() and self._failure is None:
            await wake.wait()
            wake.clear()

    def _attach(self) -> asyncio.Event:
        with self._lock:
            if self._wake is None:
                self._loop = asyncio.get_running_loop()
                self._wake = asyncio.Event()
            return self._wake

    async def early_cases(self, chunk: int) -> AsyncGenerator[list[Case]]:
        """The cases handed over, in order, in lists of at most ``chunk`` as they come;
        ends when the load ends or the limit is met."""
        wake = self._attach()
        while True:
            with self._lock:
                batch, self._buffer = self._buffer[:chunk], self._buffer[chunk:]
                finished = not self._taking
                wake.clear()
            if batch:
                yield batch
                self._go.set()  # the run queued its first cases: the loader reads on
                continue
            if finished:
                return
            await wake.wait()


def streamable(head: Suite, *, model: object, case_ids: object) -> bool:
    """Whether a run of ``head`` may start before its cases are all read: nothing of it
    needs every case first. Not when the run selects cases (``--cases``: their ids are
    checked first), filters cases by combination (``case_filters:``), or takes its model
    from the cases' generation kinds (no model given and none in the suite)."""
    return not case_ids and not head.case_filters and (model is not None or head.model is not None)


class RunStream:
    """What a streamed run's executor needs of its launch: the suite loading, and how to
    record the run once it is loaded (``record``: the checks that need every case, the
    suite and the run written; raises when the run must not go on)."""

    def __init__(self, source: StreamedSuite, record: Callable[[Suite], None]) -> None:
        self.source = source
        self._record = record
        #: True once the run is in the database (its results can be written).
        self.recorded = False
        #: Told once the run is recorded (the CLI announces the run's id then).
        self.on_recorded: Callable[[], None] = lambda: None
        self._settled = asyncio.Event()

    async def settle(self, io: StoreIO) -> Suite:
        """Wait for the whole suite, then record the run on ``io`` (the run's store
        thread); the suite. Raises what the load or the checks raised."""
        try:
            suite = await self.source.loaded()
            await io.call(self._record, suite)
            self.recorded = True
        finally:
            self._settled.set()
        self.on_recorded()
        return suite

    async def wait_recorded(self) -> bool:
        """True once the run is recorded; False when it never will be."""
        await self._settled.wait()
        return self.recorded


async def execute_streamed(executor: RunExecutor, stream: RunStream) -> RunRecord:
    """Execute a streamed run: its first cases are asked while its suite still loads; the
    run is recorded (by :func:`produce_streamed`) once the suite is."""
    started = time.perf_counter()
    try:
        await executor.run_items(None)
    except BaseException as exc:
        if stream.recorded:
            await executor.ended_early(exc, started)
            raise
        stream.source.stop()
        # never recorded: what stopped the load (or the checks), not the task group's
        # wrapping of it, is the caller's error; nothing was written
        raise _first_error(exc) from None
    return await executor.finish(started)


async def produce_streamed(
    executor: RunExecutor,
    stream: RunStream,
    queue: asyncio.Queue[Any],
    workers: int,
    writer: ResultWriter,
) -> None:
    """The first cases as the suite's load hands them over; then, the suite loaded and
    the run recorded, the rest of the plan (every epoch) in plan order."""
    from evalbook.executor.runner import CHUNK

    early: set[tuple[str, int]] = set()
    async with contextlib.aclosing(stream.source.early_cases(CHUNK)) as handed:
        async for cases in handed:
            if executor.stop.reason:
                stream.source.decline()
                break
            seq = len(early)
            early.update((case.id, 0) for case in cases)
            chunk = [WorkItem(seq=seq + i, case=case, epoch=0) for i, case in enumerate(cases)]
            await executor.feed(chunk, queue)
    suite = await stream.settle(executor.io)
    executor.suite = suite
    run = executor.run
    executor.on_event(RunStarted(run.id, run.counts.total, 0))
    writer.release()
    await executor.produce(iter_items(suite.cases, run.options.epochs, early), queue, workers)


def _first_error(exc: BaseException) -> BaseException:
    """The first error inside a task group's exception group (``exc`` itself otherwise)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
