"""How a run gets to a worker: the one seam between "start this run" and the executor.

The API and the web UI record a ``pending`` run and hand its id to a :class:`Dispatcher`;
they never execute anything themselves. :class:`DatabaseDispatcher` is the embedded
backend: the queue is the ``runs`` table (``storage/queue.py``), and any process sharing
the database — the server's in-process :class:`~evalbook.worker.pool.WorkerPool`, or
``evalbook worker`` on other machines — claims and executes it.

A Celery + Redis backend (many machines, one broker) plugs in here without touching the
executor:

- ``submit`` still calls ``mark_queued`` (so the run is visible as queued and a dead
  broker loses nothing: a database worker can always pick it up), then enqueues a task
  with the run id, acked late so a worker that dies mid-run gets it redelivered.
- The task claims the run (a claim-by-id variant of ``queue.claim``) and calls
  :func:`~evalbook.worker.claimed.execute_claimed` — the same path a pool slot takes:
  lease heartbeat, cancel polling, events to ``run_events``, ``on_finished`` hooks.
- Claims and leases still guard exclusivity (a redelivered task finding the run held or
  finished does nothing), and results are idempotent upserts by ``(run, case, epoch)``
  identity, so redelivery never duplicates a case and resume skips what is recorded.
- ``cancel`` stays ``request_cancel``: the executing worker's heartbeat sees the flag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from evalbook.core.run import RunStatus
from evalbook.storage import queue
from evalbook.storage.store import Store

__all__ = ["DatabaseDispatcher", "Dispatcher"]


class Dispatcher(Protocol):
    """Starts and stops recorded runs on some worker. Calls block on the database: from
    async code, call them in a thread."""

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> None:
        """Queue a recorded ``pending`` run for execution."""
        ...

    def cancel(self, run_id: str) -> RunStatus:
        """Cancel a run: at once when it has not started, else by asking its worker.
        Returns the status it has after the call."""
        ...


class DatabaseDispatcher:
    """The queue in the database. ``wake`` (e.g. a local pool's :meth:`WorkerPool.wake`)
    is called after each submit or cancel so that a local pool acts at once instead of at
    its next poll; it must be safe to call from any thread."""

    def __init__(self, store: Store, *, wake: Callable[[], None] | None = None) -> None:
        self.store = store
        self._wake = wake or (lambda: None)

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> None:
        queue.mark_queued(self.store, run_id, idempotency_key=idempotency_key)
        self._wake()

    def cancel(self, run_id: str) -> RunStatus:
        status = queue.request_cancel(self.store, run_id)
        self._wake()
        return status
