"""An in-process pool that executes queued runs: what ``evalbook serve`` and
``evalbook worker`` run.

The pool claims queued runs while fewer than ``max_runs`` are executing and executes each
as a :class:`~evalbook.worker.claimed.ClaimedRun` (lease heartbeat, cancel, events). All
runs share one event loop, so they share the per-endpoint connection limits of
``executor/limits.py``: two runs against the same endpoint never open more connections
together than its ``max_connections``. (Items in flight stay per run: ``concurrency``.)

Crash safety comes from the queue, not from this process: a worker killed mid-run stops
renewing its lease; once the lease expires the next claim (here or in any process on the
same database) resumes the run, skipping every case already recorded. A graceful stop
(:meth:`WorkerPool.run` returning when ``stop`` is set) does the same without the wait:
each run's finished results are written and its lease released, and the run stays
``running`` to be resumed — only a user's cancel makes a run ``canceled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Sequence

from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.worker.claimed import ClaimedRun, FinishedHook

__all__ = ["WorkerPool", "default_worker_name"]

log = get_logger("evalbook.worker")


def default_worker_name() -> str:
    """``host:pid:random`` — unique per process, readable in the runs table."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class WorkerPool:
    """Executes up to ``max_runs`` queued runs at once until told to stop, or, with a
    ``limit``, until it has executed that many runs in all (``evalbook worker --max-runs``)."""

    def __init__(
        self,
        store: Store,
        *,
        max_runs: int = 2,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        name: str | None = None,
        on_finished: Sequence[FinishedHook] = (),
        limit: int | None = None,
    ) -> None:
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if lease_s <= 0 or poll_s <= 0:
            raise ValueError("lease_s and poll_s must be positive")
        self.store = store
        self.max_runs = max_runs
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.name = name or default_worker_name()
        self.on_finished = tuple(on_finished)
        self.limit = limit
        self._claimed = 0
        self._executing: dict[str, tuple[ClaimedRun, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def executing(self) -> list[str]:
        """Ids of the runs executing now."""
        return list(self._executing)

    def wake(self) -> None:
        """Look for queued runs and cancel requests now, not at the next poll. Safe to call
        from any thread (a request handler's worker thread, a dispatcher)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not running: the first poll finds the run anyway
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._poke()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._poke)

    def _poke(self) -> None:
        self._wake.set()
        for claimed, _ in self._executing.values():
            claimed.poke()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and execute runs until ``stop`` is set; then stop launching, suspend the
        runs executing (results written, leases released) and return."""
        self._loop = asyncio.get_running_loop()
        io = StoreIO()
        watcher = asyncio.create_task(self._wake_on(stop))
        log.info(
            "worker %s: executing up to %d runs at once from %s%s",
            self.name,
            self.max_runs,
            self.store.location,
            "" if self.limit is None else f", {self.limit} in all",
        )
        try:
            while not stop.is_set():
                self._wake.clear()
                await self._fill(io, stop)
                if stop.is_set() or self._all_done():
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
        finally:
            watcher.cancel()
            await asyncio.shield(self._shutdown())
            io.close()
            log.info("worker %s: stopped", self.name)

    def _all_done(self) -> bool:
        return self.limit is not None and self._claimed >= self.limit and not self._executing

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _fill(self, io: StoreIO, stop: asyncio.Event) -> None:
        while len(self._executing) < self.max_runs and not stop.is_set():
            if self.limit is not None and self._claimed >= self.limit:
                return
            try:
                run_id = await io.call(
                    queue.claim,
                    self.store,
                    self.name,
                    lease_s=self.lease_s,
                    holding=tuple(self._executing),
                )
            except Exception:
                log.exception("worker %s: claiming a run failed", self.name)
                return
            if run_id is None:
                return
            self._claimed += 1
            self._start(run_id)

    def _start(self, run_id: str) -> None:
        log.info("run %s: claimed by %s", run_id, self.name)
        claimed = ClaimedRun(
            self.store, run_id, self.name, lease_s=self.lease_s, on_finished=self.on_finished
        )
        task = asyncio.create_task(self._execute(claimed), name=f"evalbook-slot-{run_id}")
        self._executing[run_id] = (claimed, task)

        def freed(_: asyncio.Task[None]) -> None:
            self._executing.pop(run_id, None)
            self._wake.set()  # a slot is free: claim the next run now

        task.add_done_callback(freed)

    async def _execute(self, claimed: ClaimedRun) -> None:
        try:
            record = await claimed.execute()
        except Exception:  # one run's trouble never stops the pool
            log.exception("run %s: executing it failed", claimed.run_id)
            return
        if record is None:
            why = "lease lost to another worker" if claimed.lost else "left for the next claim"
            log.info("run %s: %s", claimed.run_id, why)
        else:
            score = "-" if record.score is None else f"{record.score:.4f}"
            reason = f" ({record.stop_reason})" if record.stop_reason else ""
            log.info("run %s: %s, score %s%s", record.id, record.status.value, score, reason)

    async def _shutdown(self) -> None:
        if not self._executing:
            return
        log.info("worker %s: suspending %d runs", self.name, len(self._executing))
        for claimed, _ in self._executing.values():
            claimed.suspend(f"worker {self.name} shut down; the next claim resumes the run")
        tasks = [task for _, task in self._executing.values()]
        await asyncio.gather(*tasks, return_exceptions=True)
