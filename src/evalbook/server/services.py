"""Background services started with the app: each runs until ``stop`` is set.

- the worker pool (``ServerSettings.worker``): executes queued runs; each finished run
  queues its ``eval.completed`` webhook deliveries;
- webhook delivery: always, so that deliveries queued by ``evalbook worker`` processes
  are sent even by a server that executes nothing itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from evalbook.server.settings import ServerSettings
from evalbook.server.state import ServerState
from evalbook.webhooks.delivery import deliver_forever, webhook_hook
from evalbook.worker.pool import WorkerPool

__all__ = ["Service", "default_services", "webhook_service", "worker_service"]

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


def default_services(settings: ServerSettings) -> tuple[Service, ...]:
    """What a server runs besides answering requests."""
    return (worker_service, webhook_service) if settings.worker else (webhook_service,)
