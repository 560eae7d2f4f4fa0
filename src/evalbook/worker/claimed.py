"""Execute one claimed run under its lease: what a pool slot (or a Celery task) runs.

While the executor works, a heartbeat renews the lease and checks for a cancel request.
How the execution ends decides what the run record says:

- it finishes: ``completed`` (or ``failed``/``canceled`` by the executor's own rules);
- a user cancels (``request_cancel``): the execution is canceled, finished results are
  written, and the executor marks the run ``canceled`` with a stop reason;
- the worker shuts down (:meth:`ClaimedRun.suspend`): finished results are written and
  the run is left ``running`` with its lease released, so the next claim resumes it
  (``canceled`` is only ever a user's decision);
- the lease is lost (this worker stalled past it and another took the run over): the
  execution stops and the run record is not touched again — it belongs to the other.

Afterwards the buffered events are written, the lease is released, and the
``on_finished`` hooks run for a finished run (a failing hook is logged, nothing more).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from evalbook.core.run import RunRecord, RunStatus
from evalbook.errors import StorageFull, UserError
from evalbook.executor.events import Event, RunFinished, RunStarted
from evalbook.executor.launch import execute, load_for_resume
from evalbook.executor.lease import keep_lease
from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger
from evalbook.providers.endpoints import HostPolicy, guarded
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.worker.events import EventRecorder

__all__ = ["ClaimedRun", "FinishedHook", "execute_claimed"]

log = get_logger("evalbook.worker")

#: Called with the finished run (webhooks). Keep it short: enqueue, do not deliver inline.
FinishedHook = Callable[[RunRecord], Awaitable[None]]


class ClaimedRun:
    """One run this worker holds the lease of, from claim to release."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        owner: str,
        *,
        lease_s: float,
        on_finished: Sequence[FinishedHook] = (),
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner
        self.lease_s = lease_s
        #: Renew the lease and look for a cancel this often (a cancel is seen within it).
        self.heartbeat_s = min(lease_s / 3, 1.0)
        self.on_finished = tuple(on_finished)
        #: Set when another worker took the run over; this one must not touch it again.
        self.lost = False
        #: Set when the database was full: the lease is kept to run out on its own, so
        #: the run is tried again a lease later instead of at once, over and over.
        self._back_off = False
        self._suspended: str | None = None
        self._cancel_sent = False
        self._started = False
        #: The record the executor finished the run with (its ``RunFinished`` event).
        self._finished: RunRecord | None = None
        self._task: asyncio.Task[RunRecord] | None = None
        self._poke = asyncio.Event()

    def suspend(self, reason: str) -> None:
        """Stop executing and leave the run to be resumed by the next claim (shutdown).
        A user's cancel already under way wins: the run then ends ``canceled``; so does the
        end already recorded (the executor is only closing its clients)."""
        if self._suspended is not None or self._cancel_sent or self._finished is not None:
            return
        self._suspended = reason
        if self._task is not None:
            self._task.cancel()

    def poke(self) -> None:
        """Check for a cancel request now instead of at the next heartbeat."""
        self._poke.set()

    async def execute(self) -> RunRecord | None:
        """Execute to the end; the run as recorded when it finished, None when it was left
        for another worker (suspended, lease lost, or it could not be loaded and marked)."""
        io = StoreIO()
        record: RunRecord | None = None
        try:
            async with EventRecorder(self.store, self.run_id, io) as events:
                record = await self._execute(io, events)
        finally:
            if not self.lost and not self._back_off:
                try:
                    await asyncio.shield(
                        io.call(queue.release, self.store, self.run_id, self.owner)
                    )
                except Exception:  # the lease then simply expires
                    log.warning("run %s: releasing the lease failed", self.run_id, exc_info=True)
            io.close()
        if record is None or not record.status.finished:
            return None
        for hook in self.on_finished:
            try:
                await hook(record)
            except Exception:
                log.exception("run %s: an on_finished hook failed", self.run_id)
        return record

    async def _execute(self, io: StoreIO, events: EventRecorder) -> RunRecord | None:
        # The lease is renewed on a thread of its own: loading a large run or recording
        # events must never delay a renewal past the lease (another worker would take
        # the run while this one still executes it).
        lease_io = StoreIO()
        heartbeat = asyncio.create_task(
            self._heartbeat(lease_io), name=f"evalbook-lease-{self.run_id}"
        )
        try:
            try:
                job = await io.call(load_for_resume, self.store, self.run_id)
            except (UserError, ValueError) as exc:  # it will never start: say why
                log.error("run %s cannot be started: %s", self.run_id, exc)
                if self.lost:
                    return None
                record = await io.call(self._mark_failed, f"could not start: {exc}")
                events(RunFinished(record))
                return record
            except Exception:  # the database, probably: the next claim tries again
                log.exception("run %s: loading it failed", self.run_id)
                return None
            if self._suspended is not None or self.lost:
                await job.aclose()
                return None

            def on_event(event: Event) -> None:
                if isinstance(event, RunStarted):
                    self._started = True
                    self._poke.set()  # a cancel requested before the start acts now
                elif isinstance(event, RunFinished):
                    self._finished = event.run
                events(event)

            # The one launch path (executor.launch.execute), which closes the provider; a
            # cancel while suspended leaves the run `running` for the next claim. Runs here
            # came from the API (or were handed over to the server): every connection their
            # providers open is checked against the host policy.
            with guarded(HostPolicy.from_env()):
                task = asyncio.create_task(
                    execute(
                        self.store,
                        job,
                        on_event=on_event,
                        suspended=lambda: self._suspended is not None,
                        flush_events=events.flush,
                    ),
                    name=f"evalbook-run-{self.run_id}",
                )
            self._task = task
            await _wait(task, self)
            failure = None if task.cancelled() else task.exception()
            if isinstance(failure, StorageFull):
                log.error("run %s: %s", self.run_id, failure)
                self._back_off = True
            elif failure is not None:
                log.error("run %s failed", self.run_id, exc_info=failure)
            if self._finished is None and not self.lost:
                # A stop that landed while the executor was recording the end (after the
                # record was written, before its event): the run did finish — say so, so
                # the stream ends and the hooks (webhooks) still fire.
                current = await io.call(self.store.get_run, self.run_id)
                if current.status.finished:
                    self._finished = current
                    events(RunFinished(current))
            if self._finished is not None:  # completed, or failed/canceled and recorded so
                return self._finished
            if self._suspended is not None and not self.lost:
                events.add("status", {"status": "running", "reason": self._suspended})
            # Stopped before its end was recorded: the next claim resumes it.
            return None
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            lease_io.close()

    async def _heartbeat(self, io: StoreIO) -> None:
        def may_cancel() -> bool:
            # Delivered once, after execution started: the executor then records it as a
            # consistent `canceled` run; a suspended or finished execution takes none.
            return (
                self._started
                and not self._cancel_sent
                and self._finished is None
                and self._suspended is None
                and self._task is not None
            )

        def cancel() -> None:
            self._cancel_sent = True
            assert self._task is not None
            self._task.cancel()

        def lost() -> None:
            self.lost = True
            self.suspend("lease lost")

        await keep_lease(
            self.store,
            io,
            self.run_id,
            self.owner,
            lease_s=self.lease_s,
            every=self.heartbeat_s,
            on_cancel=cancel,
            on_lost=lost,
            may_cancel=may_cancel,
            wake=self._poke,
        )

    def _mark_failed(self, reason: str) -> RunRecord:
        run = self.store.get_run(self.run_id)
        run.status = RunStatus.failed
        run.stop_reason = reason[:2000]
        run.passed = False
        run.finished_at = datetime.now(UTC)
        self.store.update_run(run)
        return run


async def _wait(task: asyncio.Task[RunRecord], claimed: ClaimedRun) -> None:
    """Wait for the execution; if the waiter itself is canceled, suspend the run (never
    cancel it as if the user asked) and wait for it to flush before re-raising."""
    try:
        await asyncio.wait([task])
    except asyncio.CancelledError:
        claimed.suspend("the worker was stopped")
        await asyncio.wait([task])
        raise


async def execute_claimed(
    store: Store,
    run_id: str,
    owner: str,
    *,
    lease_s: float,
    on_finished: Sequence[FinishedHook] = (),
) -> RunRecord | None:
    """Execute a run ``owner`` has claimed (``queue.claim``): the path every backend takes."""
    return await ClaimedRun(
        store, run_id, owner, lease_s=lease_s, on_finished=on_finished
    ).execute()
