"""Executing queued runs: the in-process worker pool and the claimed run.

The server hands a recorded run to a ``Dispatcher`` (``evalbook.executor.dispatch``);
the default one queues it in the database, where a ``WorkerPool`` (in ``evalbook serve``
or ``evalbook worker``) claims it under a lease and executes it through
``execute_claimed`` — the path a Celery backend's task calls too.
"""

from evalbook.worker.claimed import ClaimedRun, FinishedHook, execute_claimed
from evalbook.worker.events import EventRecorder
from evalbook.worker.pool import WorkerPool, default_worker_name

__all__ = [
    "ClaimedRun",
    "EventRecorder",
    "FinishedHook",
    "WorkerPool",
    "default_worker_name",
    "execute_claimed",
]
