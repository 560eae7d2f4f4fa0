"""Submit a recorded run to the fleet: split it into shards and send one task per shard.

The run is marked ``running`` here, once (shards never touch the run's record until the
one that finishes it), and is never put on the database queue, so an embedded worker
sharing the database does not take it too. Cancel is the run's flag, as for every
backend: shards that hold a lease stop at their next heartbeat, and the workers' reaper
cancels the ones not started yet (:mod:`evalbook.worker.celery_app`).
"""

from __future__ import annotations

from typing import Any

from evalbook.core.run import RunStatus
from evalbook.executor.dispatch import end_interrupted
from evalbook.storage import queue, shards
from evalbook.storage.runs import discard_unqueued
from evalbook.storage.store import Store
from evalbook.worker.celery_app import make_app, send

__all__ = ["CeleryDispatcher"]


class CeleryDispatcher:
    """The fleet's :class:`~evalbook.executor.dispatch.Dispatcher`."""

    def __init__(self, store: Store, broker_url: str, *, shards: int | None = None) -> None:
        self.store = store
        self.app: Any = make_app(broker_url)
        #: Shards per run; None: ``auto`` (about 500 items each).
        self.shards = shards

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> str:
        """Split the recorded ``pending`` run into shards and send them; the id of the run
        sent for the request (with an ``idempotency_key`` already used in the workspace,
        the first request's run, and ``run_id`` is removed)."""
        run = self.store.get_run(run_id)
        if idempotency_key is not None:
            winner = queue.find_idempotent(self.store, run.workspace_id, idempotency_key)
            if winner is not None:
                discard_unqueued(self.store, run_id)
                return winner
        self._send(run_id, fresh=True, key=idempotency_key)
        return run_id

    def _send(self, run_id: str, *, fresh: bool, key: str | None = None) -> None:
        run = self.store.get_run(run_id)
        suite = self.store.get_suite(run.suite_hash)
        items = len(suite.select(run.options.case_ids)) * run.options.epochs
        ranges = shards.plan(items, self.shards or shards.auto_shards(items))
        shards.submit(self.store, run_id, ranges, fresh=fresh, idempotency_key=key)
        send(self.app, run_id, *range(len(ranges)))

    def cancel(self, run_id: str) -> RunStatus:
        # An interrupted CLI run has no heartbeat left to read a request: end it now.
        ended = end_interrupted(self.store, run_id)
        if ended is not None:
            return ended
        return queue.request_cancel(self.store, run_id)

    def requeue(self, run_id: str) -> bool:
        """Send a finished run again: new shards over its whole plan, which execute only
        what is missing or errored."""
        if not self.store.get_run(run_id).status.finished:
            return False
        self._send(run_id, fresh=False)
        return True

    def close(self) -> None:
        self.app.close()
