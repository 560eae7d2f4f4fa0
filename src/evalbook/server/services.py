"""Background services started with the app: each runs until ``stop`` is set.

- the worker pool (``ServerSettings.worker``): executes queued runs; each finished run
  queues its ``eval.completed`` webhook deliveries;
- webhook delivery: always, so that deliveries queued by ``evalbook worker`` processes
  are sent even by a server that executes nothing itself;
- comparisons ahead of time: always. Each run that completes (here, in a worker, in a
  CLI sharing the database) is compared with the previous completed run of its suite,
  so the first look at that comparison (two 100,000-case runs: seconds of work) is
  answered from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from evalbook.analysis.compare.cache import cached_comparison
from evalbook.plain_text import get_logger
from evalbook.server.settings import ServerSettings
from evalbook.server.state import ServerState
from evalbook.storage.activity import completed_pairs
from evalbook.webhooks.delivery import deliver_forever, webhook_hook
from evalbook.worker.pool import WorkerPool

__all__ = [
    "Service",
    "comparison_service",
    "default_services",
    "webhook_service",
    "worker_service",
]

log = get_logger("evalbook.server")

#: How often the comparison service looks for newly completed runs, and how far back it
#: looks when the server starts.
COMPARE_POLL_S = 2.0
COMPARE_LOOKBACK = timedelta(hours=1)

#: ``async def service(state, stop)``: runs until ``stop`` is set, then returns promptly.
Service = Callable[[ServerState, asyncio.Event], Coroutine[Any, Any, None]]


async def worker_service(state: ServerState, stop: asyncio.Event) -> None:
    """Execute queued runs here; a submitted run wakes the pool at once."""
    settings = state.settings
    pool = WorkerPool(
        state.store,
        max_runs=settings.max_runs,
        lease_s=settings.lease_s,
        poll_s=settings.poll_s,
        on_finished=(webhook_hook(state.store, settings.base_url),),
    )
    state.wake_worker = pool.wake
    await pool.run(stop)


async def webhook_service(state: ServerState, stop: asyncio.Event) -> None:
    """Send pending webhook deliveries (never on a run's path: the worker only enqueues)."""
    await deliver_forever(state.store, stop, allow_private=state.settings.allow_private_webhooks)


async def comparison_service(state: ServerState, stop: asyncio.Event) -> None:
    """Compare each newly completed run with the previous completed run of its suite,
    one at a time in a thread, into the comparison cache the pages read."""
    since = datetime.now(UTC) - COMPARE_LOOKBACK
    while not stop.is_set():
        try:
            pairs, since = await asyncio.to_thread(completed_pairs, state.store, since)
            for baseline, candidate in reversed(pairs):  # oldest first: the newest stays
                work = asyncio.ensure_future(
                    asyncio.to_thread(cached_comparison, state.store, baseline, candidate)
                )
                if not await _unless_stopped(work, stop):
                    return
        except Exception:  # a page computes it on demand instead
            log.warning("comparing completed runs ahead of time failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), COMPARE_POLL_S)


async def _unless_stopped(work: asyncio.Future[Any], stop: asyncio.Event) -> bool:
    """Wait for ``work`` or ``stop``; False when stopping (a comparison of two large runs
    takes seconds: the server does not wait for it to shut down; the thread finishes it
    on its own and its outcome is dropped)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not work.done():
        work.add_done_callback(lambda done: done.cancelled() or done.exception())
        return False
    work.result()  # its failure, if any, is this pass's
    return not stop.is_set()


def default_services(settings: ServerSettings) -> tuple[Service, ...]:
    """What a server runs besides answering requests."""
    if settings.worker:
        return (worker_service, webhook_service, comparison_service)
    return (webhook_service, comparison_service)
