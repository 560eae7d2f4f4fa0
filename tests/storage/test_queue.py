"""The run queue on real SQLite and PostgreSQL: exclusive claims, leases, cancel."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.storage import queue
from evalbook.storage import tables as t
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite


def _pending(store: Store, server: Any, *, queued: bool = True) -> str:
    run = prepare_run(store, yes_no_suite(3, server.base_url)).run
    if queued:
        queue.mark_queued(store, run.id)
    return run.id


def test_only_queued_runs_are_claimed_and_only_once(store: Store, server: Any) -> None:
    in_process = _pending(store, server, queued=False)  # the CLI is running this one
    first = _pending(store, server)
    second = _pending(store, server)
    assert queue.claim(store, "w1", lease_s=30) == first
    assert queue.claim(store, "w2", lease_s=30) == second
    assert queue.claim(store, "w3", lease_s=30) is None
    assert in_process not in (first, second)


def test_an_expired_lease_is_claimed_again(store: Store, server: Any) -> None:
    run_id = _pending(store, server)
    assert queue.claim(store, "dead-worker", lease_s=30) == run_id
    assert queue.claim(store, "w2", lease_s=30) is None
    # The dead worker's lease runs out (set in the past rather than slept through: a busy
    # machine may take longer than a short lease just to ask the second claim).
    with store.write() as conn:
        conn.execute(
            sa.update(t.runs)
            .where(t.runs.c.id == run_id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert queue.claim(store, "w2", lease_s=30) == run_id
    assert not queue.renew(store, run_id, "dead-worker", lease_s=30)  # it lost the run
    assert queue.renew(store, run_id, "w2", lease_s=30)
    queue.release(store, run_id, "w2")
    assert queue.claim(store, "w3", lease_s=30) == run_id


def test_concurrent_claimers_never_share_a_run(store: Store, server: Any) -> None:
    ids = {_pending(store, server) for _ in range(6)}
    won: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (run_id := queue.claim(store, name, lease_s=30)) is not None:
            with lock:
                won.append(run_id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(won) == sorted(ids)  # each claimed exactly once


def test_cancel_before_start_and_while_running(store: Store, server: Any) -> None:
    waiting = _pending(store, server)
    assert queue.request_cancel(store, waiting) is RunStatus.canceled
    assert store.get_run(waiting).status is RunStatus.canceled
    assert queue.claim(store, "w", lease_s=30) is None  # a canceled run is never started

    busy = _pending(store, server)
    assert queue.claim(store, "w", lease_s=30) == busy
    assert queue.request_cancel(store, busy) is RunStatus.pending  # its worker will stop it
    assert queue.cancel_requested(store, busy)


def test_idempotency_keys_are_per_workspace(store: Store, server: Any) -> None:
    run_id = _pending(store, server, queued=False)
    queue.mark_queued(store, run_id, idempotency_key="k-1")
    assert queue.find_idempotent(store, "default", "k-1") == run_id
    assert queue.find_idempotent(store, "default", "k-2") is None
    assert queue.find_idempotent(store, "other", "k-1") is None
