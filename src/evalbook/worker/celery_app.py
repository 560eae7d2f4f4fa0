"""The fleet on Celery: a submitted run split into shards, each a task carrying ids only.

Settings that make it safe, and why:

- ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged after its
  shard settled, so a worker that dies mid-shard gets it redelivered;
- ``worker_prefetch_multiplier = 1``: a worker holds no shard it is not executing, so a
  slow worker never sits on work another could do;
- no result backend and no chords: nothing waits on a task's return (the database is the
  one record; chords over Redis are a known way for a run to hang).

Correctness does not rest on the broker. A shard is held in the database under a lease
(:mod:`evalbook.storage.shards`); a duplicate delivery finds it held or settled and does
nothing, and every worker runs a reaper that re-queues and re-sends the shards of dead
workers once their lease ran out. So Redis's ``visibility_timeout`` (redelivery of an
unacknowledged message) only needs to be long (12 h here): a redelivery while the shard
still runs is harmless, and a shard lost by the broker (``queued`` for longer than
``EVALBOOK_SHARD_RESEND_S``, 10 minutes by default, with no lease) is re-sent by the
reaper. The same reaper cancels the not-yet-started shards of a run whose cancel was
requested, so a cancel from the API, the web page or the CLI (one flag on the run) stops
the whole run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from typing import Any

from evalbook.errors import ConfigError
from evalbook.plain_text import get_logger
from evalbook.storage import shards
from evalbook.storage.store import Store

__all__ = ["BROKER_ENV", "TASK", "broker_url", "make_app", "queue_name", "send"]

log = get_logger("evalbook.worker")

BROKER_ENV = "EVALBOOK_BROKER_URL"
TASK = "evalbook.run_shard"
VISIBILITY_TIMEOUT_S = 12 * 3600


def broker_url() -> str | None:
    return os.environ.get(BROKER_ENV) or None


def queue_name() -> str:
    """The broker queue of this fleet (``EVALBOOK_QUEUE``): fleets sharing a broker keep
    apart by it."""
    return os.environ.get("EVALBOOK_QUEUE") or "evalbook"


def shard_lease_s() -> float:
    return float(os.environ.get("EVALBOOK_SHARD_LEASE_S") or 30.0)


def shard_resend_s() -> float:
    """How long a shard may stay ``queued`` before the reaper sends it again (its message
    may have been lost): longer than a shard waits in the queue of a busy fleet, since
    every extra message costs a worker a moment (it finds the shard held or settled)."""
    return float(os.environ.get("EVALBOOK_SHARD_RESEND_S") or 600.0)


def make_app(url: str) -> Any:
    """The Celery app of a fleet on the broker at ``url`` (``redis://`` or ``amqp://``)."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError(
            f"{BROKER_ENV} is set but Celery is not installed: pip install 'evalbook[celery]'"
        ) from None
    app = Celery("evalbook", broker=url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=queue_name(),
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)  # type: ignore[untyped-decorator]
    def run_shard(run_id: str, idx: int) -> str:
        return Fleet.of(app).run(run_id, idx)

    from celery import signals

    @signals.worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
    def _ready(**_: Any) -> None:
        Fleet.of(app).start_reaper()

    @signals.worker_shutting_down.connect(weak=False)  # type: ignore[untyped-decorator]
    def _stopping(**_: Any) -> None:
        Fleet.of(app).stopping.set()

    return app


def send(app: Any, run_id: str, *idx: int) -> None:
    """Send shards ``idx`` of a run, on a connection closed afterwards."""
    with app.connection_for_write() as conn:
        for i in idx:
            app.send_task(TASK, args=[run_id, i], queue=queue_name(), connection=conn)


class Fleet:
    """This worker process's part: its store, its name, its stop flag and its reaper."""

    _instances: dict[int, Fleet] = {}
    _lock = threading.Lock()

    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = Store.open()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.lease_s = shard_lease_s()
        self.resend_s = shard_resend_s()
        self.stopping = threading.Event()
        self._reaper: threading.Thread | None = None

    @classmethod
    def of(cls, app: Any) -> Fleet:
        with cls._lock:
            fleet = cls._instances.get(id(app))
            if fleet is None:
                fleet = cls._instances[id(app)] = cls(app)
            return fleet

    def run(self, run_id: str, idx: int) -> str:
        from evalbook.webhooks.delivery import webhook_hook
        from evalbook.worker.shard import execute_shard

        owner = f"{self.name}:{uuid.uuid4().hex[:8]}"
        public = os.environ.get("EVALBOOK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
        outcome = asyncio.run(
            execute_shard(
                self.store, run_id, idx, owner,
                lease_s=self.lease_s, stopping=self.stopping,
                resend=lambda r, i: send(self.app, r, i),
                on_finished=(webhook_hook(self.store, public),),
            )
        )  # fmt: skip
        log.info("run %s shard %d: %s", run_id, idx, outcome.value)
        return outcome.value

    def start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_forever, daemon=True)
            self._reaper.start()

    def _reap_forever(self) -> None:
        every = min(self.lease_s / 3, 1.0)
        while not self.stopping.wait(every):
            try:
                self.reap_once()
            except Exception:
                log.warning("the shard reaper failed; trying again", exc_info=True)

    def reap_once(self) -> None:
        from evalbook.executor.store_io import StoreIO
        from evalbook.worker.shard import try_finish

        requeued, finishes = shards.reap(self.store, resend_s=self.resend_s)
        for run_id, idx in requeued:
            log.warning("run %s shard %d: its worker died or its message was lost; sent again",
                        run_id, idx)  # fmt: skip
            send(self.app, run_id, idx)
        finishes += shards.cancel_requested_runs(self.store)
        for run_id in finishes:
            io = StoreIO()
            try:
                asyncio.run(try_finish(self.store, io, run_id, self.name, lease_s=self.lease_s))
            finally:
                io.close()
