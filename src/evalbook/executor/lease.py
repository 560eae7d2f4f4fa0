"""The lease of a run executed in this process (the CLI, ``evalbook.run``).

Why: a run executed by the CLI used to hold nothing, so a process killed by SIGTERM or
``kill -9`` left its run ``running`` forever, indistinguishable from one still at work.
Now every execution holds the run's lease, as a worker's does, and renews it while it
works. A run whose lease expired and that no worker will claim (it was not queued) is
*interrupted*: ``evalbook resume RUN`` continues it, skipping every case already
recorded; ``evalbook runs cancel RUN`` ends it, summarised from what it recorded.

The heartbeat also delivers a cancel asked from elsewhere (``evalbook runs cancel``, the
API): the execution is canceled, which the executor records as a ``canceled`` run with
its finished results kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from evalbook.core.run import RunRecord, RunStatus
from evalbook.errors import UserError
from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger

if TYPE_CHECKING:  # the storage layer loads while a streamed run's first requests go out
    from evalbook.storage.store import Store

__all__ = [
    "LEASE_S",
    "RunBusyError",
    "cancel_run",
    "describe_owner",
    "execute_held",
    "keep_lease",
    "owner_gone",
    "process_owner",
]

log = get_logger("evalbook.executor")

#: How long a lease lasts without renewal: the time after which a killed process's run
#: shows as interrupted. Renewed every third of it.
LEASE_S = float(os.environ.get("EVALBOOK_LEASE_S", "30"))


class RunBusyError(UserError):
    """Another live process holds the run (it is executing it now)."""


def process_owner() -> str:
    """``cli:host:pid:random``: unique per execution, readable in the runs table."""
    return f"cli:{_host()}:{os.getpid()}:{secrets.token_hex(3)}"


def describe_owner(owner: str | None) -> str:
    """Who holds a run, in words: ``process PID on HOST`` for an execution of the CLI (see
    :func:`process_owner`), ``worker NAME`` for a worker, the raw owner otherwise."""
    if owner is None:
        return "a holder that has just let it go"
    kind, _, rest = owner.partition(":")
    host, _, rest = rest.partition(":")
    pid, _, _ = rest.partition(":")
    if kind == "cli" and host and pid.isdigit():
        return f"process {pid} on {host}"
    return f"worker {owner}"


def _host() -> str:
    return socket.gethostname()[:50]


def owner_gone(owner: str) -> bool:
    """True when ``owner`` is an execution of this machine whose process no longer exists
    (killed, crashed): its run need not wait for the lease to expire. Owners on other
    machines (and workers) are never judged here: their leases decide."""
    kind, _, rest = owner.partition(":")
    host, _, rest = rest.partition(":")
    pid, _, _ = rest.partition(":")
    if kind != "cli" or host != _host() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


async def _take(io: StoreIO, store: Store, run_id: str, owner: str, lease: float) -> bool:
    from evalbook.storage import queue

    if await io.call(queue.hold, store, run_id, owner, lease_s=lease):
        return True
    holder = await io.call(queue.lease_owner, store, run_id)
    return (
        holder is not None
        and owner_gone(holder)
        and await io.call(queue.take_over, store, run_id, holder, owner, lease_s=lease)
    )


async def execute_held(
    store: Store,
    run_id: str,
    execute: Callable[[], Awaitable[RunRecord]],
    *,
    lease_s: float | None = None,
    recorded: Callable[[], Awaitable[bool]] | None = None,
) -> RunRecord:
    """Run ``execute()`` while holding ``run_id``'s lease; a cancel asked from elsewhere
    cancels it. Raises :class:`RunBusyError` when a live process holds the run.

    ``recorded``: the run is not in the database yet (a streamed run, recorded once its
    suite is loaded); it resolves True once it is (the lease is taken then: no other
    process could know the run before), False when it never will be."""
    lease = lease_s or LEASE_S
    owner = process_owner()
    io = StoreIO()
    try:
        if recorded is None:
            if not await _take(io, store, run_id, owner, lease):
                raise await _busy(io, store, run_id)
            task = asyncio.ensure_future(execute())
        else:
            task = asyncio.ensure_future(execute())
            if not await _first_recorded(task, recorded):
                return await task  # never recorded: there is no lease to hold
            if not await _take(io, store, run_id, owner, lease):
                task.cancel()
                raise await _busy(io, store, run_id)
        from evalbook.storage import queue  # (loaded by now: the lease is taken)

        beat = asyncio.create_task(
            keep_lease(
                store,
                io,
                run_id,
                owner,
                lease_s=lease,
                every=min(lease / 3, 5.0),
                on_cancel=task.cancel,
                on_lost=task.cancel,
                may_cancel=lambda: not task.done(),
            )
        )
        try:
            return await task
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            with contextlib.suppress(Exception):  # else the lease simply expires
                await asyncio.shield(io.call(queue.release, store, run_id, owner))
    finally:
        io.close()


async def _busy(io: StoreIO, store: Store, run_id: str) -> RunBusyError:
    from evalbook.storage import queue

    holder = await io.call(queue.lease_owner, store, run_id)
    return RunBusyError(
        f"run {run_id} is being executed by another process ({describe_owner(holder)});"
        f" wait for it, or cancel it with `evalbook runs cancel {run_id[:8]}`"
    )


async def _first_recorded(
    task: asyncio.Future[RunRecord], recorded: Callable[[], Awaitable[bool]]
) -> bool:
    """Wait until the run is recorded (True) or ``task`` ends first (False); canceled
    meanwhile, ``task`` is canceled and awaited first."""
    waiter: asyncio.Future[bool] = asyncio.ensure_future(recorded())
    either: set[asyncio.Future[RunRecord] | asyncio.Future[bool]] = {task, waiter}
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        waiter.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    if waiter.done() and waiter.result():
        return True
    waiter.cancel()
    return False


async def keep_lease(
    store: Store,
    io: StoreIO,
    run_id: str,
    owner: str,
    *,
    lease_s: float,
    every: float,
    on_cancel: Callable[[], object],
    on_lost: Callable[[], object],
    may_cancel: Callable[[], bool] = lambda: True,
    wake: asyncio.Event | None = None,
) -> None:
    """Renew ``run_id``'s lease every ``every`` seconds (or when ``wake`` is set) until
    cancelled or the lease is lost, and deliver a cancel asked from elsewhere.

    The one heartbeat of every execution, the CLI's and a worker's: ``on_cancel`` runs when a
    cancel was requested and ``may_cancel()`` says the execution can take it now (a worker
    delivers it once, after the run started); ``on_lost`` runs, and the heartbeat ends, when
    another process holds the lease. A failed renewal (the database, briefly) is logged and
    tried again at the next beat: the lease outlives a few of them.
    """
    from evalbook.storage import queue

    while True:
        if wake is None:
            await asyncio.sleep(every)
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await wake.wait()
            wake.clear()
        try:
            held = await io.call(queue.renew, store, run_id, owner, lease_s=lease_s)
            cancel = held and may_cancel() and await io.call(queue.cancel_requested, store, run_id)
        except Exception:
            log.warning("run %s: lease heartbeat failed", run_id, exc_info=True)
            continue
        if not held:
            log.warning("run %s: the lease was taken by another process; stopping", run_id)
            on_lost()
            return
        if cancel and may_cancel():
            log.info("run %s: cancel requested", run_id)
            on_cancel()


async def cancel_run(store: Store, run_id: str) -> RunRecord:
    """End a run as a user's cancel: a live execution is asked to stop (and records the
    run itself within a few seconds); an interrupted one is summarised from its finished
    results and marked ``canceled`` here."""
    from evalbook.storage import queue

    io = StoreIO()
    try:
        run = await io.call(store.get_run, run_id)
        if run.status.finished:
            return run
        if run.id in await io.call(queue.interrupted, store, [run.id], gone=owner_gone):
            owner = process_owner()
            if await _take(io, store, run.id, owner, LEASE_S):
                try:
                    from evalbook.executor.finish import finish_run  # not at start-up

                    return await finish_run(
                        store,
                        io,
                        run,
                        started=time.perf_counter(),
                        stop_reason="canceled after its process was gone",
                        stop_status=RunStatus.canceled,
                    )
                finally:
                    await io.call(queue.release, store, run.id, owner)
        await io.call(queue.request_cancel, store, run.id)
        return await io.call(store.get_run, run.id)
    finally:
        io.close()
