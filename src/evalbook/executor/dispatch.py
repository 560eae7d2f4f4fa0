"""How a recorded run gets to a worker: the one seam between "start this run" and the
executor.

The server (API routes and web pages alike) records a ``pending`` run with
``executor.launch.prepare_run`` and hands its id to the :class:`Dispatcher` it holds
(``ServerState.dispatcher``); it cancels and re-queues runs through the same object and
never executes anything itself. Which backend that is gets chosen at the composition
root (the app factory), never in a route. With :class:`DatabaseDispatcher` the server
records the run already queued instead (:meth:`DatabaseDispatcher.submit_recording`: one
write transaction per submission, the idempotency key settled by the insert).

:class:`DatabaseDispatcher` is the default backend: the queue is the ``runs`` table
(``storage/queue.py``), and any process sharing the database — the server's in-process
``WorkerPool``, or ``evalbook worker`` on other machines — claims a queued run under a
lease and executes it through ``worker.claimed.execute_claimed``, which calls
``executor.launch.execute`` like every other launcher.

Writing another backend (Celery + a broker, many machines):

- ``submit`` records the run as queued first (call :class:`DatabaseDispatcher`'s
  ``submit``, which also settles idempotency), then sends a task carrying only the run
  id, acked late so that a worker dying mid-run gets it redelivered. A dead broker then
  loses nothing: a database worker can still claim the run.
- The task claims that run (a claim-by-id variant of ``queue.claim``) and calls
  ``execute_claimed`` — the path a pool slot takes: lease heartbeat, cancel polling,
  events to ``run_events``, ``on_finished`` hooks. Leases keep a run on one worker (a
  redelivered task finding it held or finished does nothing); results are idempotent by
  ``(run, case, epoch)``, so redelivery never duplicates a case.
- ``cancel`` ends an interrupted run first (:func:`end_interrupted`: a CLI run whose
  process is gone has no heartbeat to see a request), else stays
  ``queue.request_cancel``: the executing worker's heartbeat sees it.
- ``requeue`` marks the run queued again (``runs.requeue``) and sends a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.executor.lease import cancel_run, owner_gone
from evalbook.storage import queue
from evalbook.storage.runs import discard_unqueued, requeue
from evalbook.storage.store import Store

if TYPE_CHECKING:
    from evalbook.executor.launch import Queued

__all__ = ["DatabaseDispatcher", "Dispatcher", "end_interrupted"]


def end_interrupted(store: Store, run_id: str) -> RunStatus | None:
    """Cancel ``run_id`` if it is interrupted (an ``evalbook run`` whose process is gone):
    summarised from the results it recorded and marked ``canceled``, as ``evalbook runs
    cancel`` does. ``None`` when it is not interrupted (nobody would act on a cancel
    request for it otherwise: there is no heartbeat left to read the flag).

    Blocks; call it from a thread, never from a running event loop."""
    if not queue.interrupted(store, [run_id], gone=owner_gone):
        return None
    return asyncio.run(cancel_run(store, run_id)).status


class Dispatcher(Protocol):
    """Starts, stops and restarts recorded runs on some worker. The calls block on the
    database: from async code, call them in a thread."""

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> str:
        """Queue the recorded ``pending`` run ``run_id``; return the id of the run that is
        queued for the request. With an ``idempotency_key`` another run of the same
        workspace already holds, that run's id comes back and ``run_id`` (recorded, never
        queued, never seen) is removed: two racing requests with one key make one run."""
        ...

    def cancel(self, run_id: str) -> RunStatus:
        """Cancel a run: at once when it has not started, else by asking its worker.
        Returns the status it has after the call (a finished run is left as it was)."""
        ...

    def requeue(self, run_id: str) -> bool:
        """Queue a finished run again, so that a worker resumes it (only missing and
        errored cases run). False when it is not finished or a worker still holds it."""
        ...


class DatabaseDispatcher:
    """The queue in the database. ``wake`` (e.g. a local pool's ``WorkerPool.wake``) is
    called after each submit, cancel and requeue so that a local pool acts at once
    instead of at its next poll; it must be safe to call from any thread."""

    def __init__(self, store: Store, *, wake: Callable[[], None] | None = None) -> None:
        self.store = store
        self._wake = wake or (lambda: None)

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> str:
        try:
            queue.mark_queued(self.store, run_id, idempotency_key=idempotency_key)
        except sa.exc.IntegrityError:
            if idempotency_key is None:  # only the idempotency key is unique among these
                raise
            winner = queue.find_idempotent(
                self.store, self.store.get_run(run_id).workspace_id, idempotency_key
            )
            if winner is None:  # pragma: no cover - the winner cannot vanish
                raise
            discard_unqueued(self.store, run_id)
            return winner
        self._wake()
        return run_id

    def submit_recording(
        self,
        record: Callable[[Queued], str],
        *,
        workspace_id: str,
        idempotency_key: str | None = None,
    ) -> str:
        """Record a run and queue it in one transaction: ``record(queued)`` records a
        ``pending`` run with the columns ``queued()`` gives among its row's values (see
        ``queue.queue_columns``) and returns its id. Returns what :meth:`submit` does: with
        an ``idempotency_key`` another run of ``workspace_id`` holds, the insert fails on
        the key, nothing of this request stays recorded, and that run's id comes back.

        One write instead of two (record, then queue): under concurrent submissions each
        write waits its turn (SQLite's one writer). A subclass that changed :meth:`submit`
        keeps its say: ``record(None)`` records the run, then :meth:`submit` queues it."""
        if type(self).submit is not DatabaseDispatcher.submit:
            return self.submit(record(None), idempotency_key=idempotency_key)
        try:
            run_id = record(partial(queue.queue_columns, idempotency_key))
        except sa.exc.IntegrityError:
            if idempotency_key is None:  # only the idempotency key is unique among these
                raise
            winner = queue.find_idempotent(self.store, workspace_id, idempotency_key)
            if winner is None:  # pragma: no cover - the winner cannot vanish
                raise
            return winner
        self._wake()
        return run_id

    def cancel(self, run_id: str) -> RunStatus:
        ended = end_interrupted(self.store, run_id)
        if ended is not None:
            return ended
        status = queue.request_cancel(self.store, run_id)
        self._wake()
        return status

    def requeue(self, run_id: str) -> bool:
        queued = requeue(self.store, run_id)
        if queued:
            self._wake()
        return queued
