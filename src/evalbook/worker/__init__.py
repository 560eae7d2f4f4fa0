"""Executing queued runs: the dispatch seam, the in-process worker pool, run events.

``Dispatcher`` is what the server hands a recorded run to; ``DatabaseDispatcher`` queues
it in the database, where a ``WorkerPool`` (in ``evalbook serve`` or ``evalbook worker``)
claims it under a lease and executes it through ``execute_claimed`` — the path a Celery
backend would call too.
"""

from evalbook.worker.claimed import ClaimedRun, FinishedHook, execute_claimed
from evalbook.worker.dispatch import DatabaseDispatcher, Dispatcher
from evalbook.worker.events import EventRecorder, event_row
from evalbook.worker.pool import WorkerPool, default_worker_name

__all__ = [
    "ClaimedRun",
    "DatabaseDispatcher",
    "Dispatcher",
    "EventRecorder",
    "FinishedHook",
    "WorkerPool",
    "default_worker_name",
    "event_row",
    "execute_claimed",
]
