"""The fleet's dispatcher cancels an interrupted CLI run as the database one does: it is
ended at once, summarised from what it recorded (nobody would read a cancel request)."""

from __future__ import annotations

import asyncio

from evalbook.core.run import RunStatus
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.worker.celery_dispatch import CeleryDispatcher
from tests.server.test_interrupted_runs import held_run

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_the_fleet_dispatcher_ends_an_interrupted_run(store: Store) -> None:
    live = await held_run(store, "cli:elsewhere:1:a", lease_s=600)
    expired = await held_run(store, "cli:elsewhere:2:b", lease_s=0.05)
    await asyncio.sleep(0.2)
    dispatcher = CeleryDispatcher(store, REDIS_URL)
    try:
        ended = await asyncio.to_thread(dispatcher.cancel, expired.id)
        asked = await asyncio.to_thread(dispatcher.cancel, live.id)
    finally:
        dispatcher.close()
    assert ended is RunStatus.canceled
    run = store.get_run(expired.id)
    assert run.status is RunStatus.canceled
    assert run.stop_reason == "canceled after its process was gone"
    # A live execution is only asked: its heartbeat reads the flag.
    assert asked is RunStatus.pending and queue.cancel_requested(store, live.id)
