"""One shard of a run on this worker, from claim to settle, and the run's finish.

While the shard executes, a heartbeat renews its lease and looks for a cancel request
and for this worker stopping. How it ends decides what the shard says:

- its items are done: ``done`` (or ``canceled`` with the reason when the executor stopped
  on its own: a refused key, the cost limit);
- the user canceled the run: ``canceled``; finished results are written;
- this worker is stopping (SIGTERM): handed back (``queued``) and sent again at once;
- the lease was lost (this worker stalled past it; another holds the shard now): nothing
  more is written about the shard.

Whoever settles a shard then tries to finish the run (:func:`try_finish`); the database
lets exactly one of them do it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.budget import BUDGET_STOP
from evalbook.executor.events import Event, ItemDone, ItemStarted
from evalbook.executor.finish import finish_run
from evalbook.executor.launch import execute, load_for_resume
from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger
from evalbook.providers.endpoints import HostPolicy, guarded
from evalbook.storage import queue, shards
from evalbook.storage.store import Store
from evalbook.worker.claimed import FinishedHook
from evalbook.worker.events import EventRecorder

__all__ = ["Outcome", "execute_shard", "try_finish"]

log = get_logger("evalbook.worker")


class Outcome(StrEnum):
    skipped = "skipped"  # held by another worker, or settled: a duplicate delivery
    done = "done"
    canceled = "canceled"
    handed_back = "handed_back"
    lost = "lost"


async def execute_shard(
    store: Store,
    run_id: str,
    idx: int,
    owner: str,
    *,
    lease_s: float,
    stopping: threading.Event,
    resend: Callable[[str, int], None],
    on_finished: Sequence[FinishedHook] = (),
) -> Outcome:
    io = StoreIO()
    try:
        outcome = await _execute(store, io, run_id, idx, owner, lease_s, stopping)
        if outcome is Outcome.handed_back:
            resend(run_id, idx)
        elif outcome in (Outcome.done, Outcome.canceled):
            await try_finish(store, io, run_id, owner, lease_s=lease_s, on_finished=on_finished)
        return outcome
    finally:
        io.close()


async def _execute(
    store: Store,
    io: StoreIO,
    run_id: str,
    idx: int,
    owner: str,
    lease_s: float,
    stopping: threading.Event,
) -> Outcome:
    shard = await io.call(shards.claim, store, run_id, idx, owner, lease_s=lease_s)
    if shard is None:
        return Outcome.skipped
    # The lease is renewed from the claim on: loading the run (the first shard of a
    # worker imports its provider) may take longer than the lease on a loaded machine.
    async with Heartbeat(store, run_id, idx, owner, lease_s) as beat:
        why = await _run_part(store, io, shard, owner, beat, stopping)
    if why is Outcome.lost:
        return why
    if why is Outcome.handed_back:
        await io.call(shards.settle, store, run_id, idx, owner, shards.QUEUED)
        return why
    if why is Outcome.canceled:
        await io.call(shards.settle, store, run_id, idx, owner, shards.CANCELED)
        return why
    if isinstance(why, str):  # it will never run: the run fails with the reason
        await io.call(shards.settle, store, run_id, idx, owner, shards.CANCELED, why[:2000])
        return Outcome.canceled
    status = shards.CANCELED if why else shards.DONE
    await io.call(shards.settle, store, run_id, idx, owner, status, why and why[:2000])
    return Outcome.canceled if why else Outcome.done


async def _run_part(
    store: Store,
    io: StoreIO,
    shard: shards.Shard,
    owner: str,
    beat: Heartbeat,
    stopping: threading.Event,
) -> Outcome | str | None:
    """Execute the shard's items; an :class:`Outcome` when it was stopped from outside,
    else why it stopped early (None: every item ran)."""
    run_id, idx = shard.run_id, shard.idx
    if await io.call(queue.cancel_requested, store, run_id):
        return Outcome.canceled
    try:
        job = await io.call(load_for_resume, store, run_id)
    except Exception as exc:
        return f"shard {idx} could not start: {exc}"
    if beat.why is not None:
        await job.aclose()
        return beat.why
    async with EventRecorder(store, run_id, io) as events:

        def on_event(event: Event) -> None:
            if isinstance(event, ItemStarted | ItemDone):  # the run's start and end are the
                events(event)  # fleet's, recorded once

        part = range(shard.seq_start, shard.seq_stop)
        # Runs may come from the API: every connection is checked against the host policy.
        with guarded(HostPolicy.from_env()):
            task = asyncio.create_task(
                execute(store, job, on_event=on_event, items=part),
                name=f"evalbook-shard-{run_id}-{idx}",
            )
        why = await _watch(task, beat, stopping)
    if why is not None:
        return why
    error = None if task.cancelled() else task.exception()
    if error is not None:
        return f"{type(error).__name__}: {error}"
    return None if task.cancelled() else task.result().stop_reason


class Heartbeat:
    """Renews a shard's lease every third of it (at most every second) and looks for a
    cancel request; ``why`` says when the shard must stop (lease lost, run canceled).

    A thread of its own, not a task of the event loop: the loop may be held for seconds
    (the first shard of a worker imports its provider and scorers; a loaded machine gives
    the process a fraction of a core), and a renewal behind it would come after the lease
    ran out, so that another worker takes the shard while this one still works on it.
    """

    def __init__(self, store: Store, run_id: str, idx: int, owner: str, lease_s: float) -> None:
        self.store, self.run_id, self.idx, self.owner = store, run_id, idx, owner
        self.lease_s = lease_s
        self.why: Outcome | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"evalbook-lease-{run_id}-{idx}", daemon=True
        )

    async def __aenter__(self) -> Heartbeat:
        self._thread.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join)

    def _beat(self) -> None:
        every = min(self.lease_s / 3, 1.0)
        args = (self.store, self.run_id, self.idx, self.owner)
        while self.why is None and not self._stop.wait(every):
            try:
                if not shards.renew(*args, lease_s=self.lease_s):
                    log.warning("run %s shard %d: lease lost; stopping", self.run_id, self.idx)
                    self.why = Outcome.lost
                elif queue.cancel_requested(self.store, self.run_id):
                    self.why = Outcome.canceled
            except Exception:
                log.warning(
                    "run %s shard %d: heartbeat failed", self.run_id, self.idx, exc_info=True
                )


async def _watch(
    task: asyncio.Task[RunRecord], beat: Heartbeat, stopping: threading.Event
) -> Outcome | None:
    """Wait for the shard; None when it ran to its end, else why it was stopped."""
    why: Outcome | None = None
    while not task.done():
        await asyncio.wait([task], timeout=0.1)
        if task.done():
            break
        why = Outcome.handed_back if stopping.is_set() else beat.why
        if why is not None:
            task.cancel()  # the writer flushes what finished before the task ends
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return why


async def try_finish(
    store: Store,
    io: StoreIO,
    run_id: str,
    owner: str,
    *,
    lease_s: float,
    on_finished: Sequence[FinishedHook] = (),
) -> RunRecord | None:
    """Finish the run when every shard is settled; exactly one caller does it."""
    if not await io.call(shards.claim_finish, store, run_id, owner, lease_s=lease_s):
        return None
    run = await io.call(store.get_run, run_id)
    if run.status.finished:  # a finisher died after writing the end: only settle
        await io.call(shards.finish_done, store, run_id, owner)
        return None
    reason: str | None = None
    status = RunStatus.canceled
    if await io.call(queue.cancel_requested, store, run_id):
        reason = "canceled by the user"
    else:
        stopped = [s.stop_reason for s in await io.call(shards.shards_of, store, run_id)]
        reasons = [r for r in stopped if r]
        # A failure says more than a budget stop (which other shards may have met after it).
        reason = next((r for r in reasons if not r.startswith(BUDGET_STOP)), None)
        if reason is None and reasons:
            reason, status = reasons[0], RunStatus.canceled
        else:
            status = RunStatus.failed
    began = run.started_at or run.created_at
    run.duration_ms = 0.0
    started = time.perf_counter() - (datetime.now(UTC) - began).total_seconds()
    async with EventRecorder(store, run_id, io) as events:
        record = await finish_run(
            store, io, run, started=started, stop_reason=reason, stop_status=status,
            on_event=events,
        )  # fmt: skip
    await io.call(shards.finish_done, store, run_id, owner)
    for hook in on_finished:
        try:
            await hook(record)
        except Exception:
            log.exception("run %s: an on_finished hook failed", run_id)
    return record
