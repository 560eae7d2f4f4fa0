"""A run's finish checks its record against its plan: a run whose results are not all in
the database (a batch lost, a row deleted while it ran) ends ``failed`` with a reason
naming how many are missing, never ``completed``; a complete one completes as before."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

import evalbook
from evalbook.core.run import RunStatus
from evalbook.executor.finish import finish_run
from evalbook.executor.store_io import StoreIO
from evalbook.storage import tables as t
from evalbook.storage.store import Store

from .helpers import yes_no_suite


async def _running_again(store: Store, base_url: str, n: int, **options: Any) -> str:
    """A run executed to its end, set back to ``running`` as it was before its finish."""
    run = await evalbook.arun(yes_no_suite(n, base_url), store=store, **options)
    assert run.status == "completed"
    with store.write() as conn:
        conn.execute(
            sa.update(t.runs).where(t.runs.c.id == run.id).values(status="running", passed=None)
        )
    return run.id


async def _finish(store: Store, run_id: str) -> Any:
    io = StoreIO()
    try:
        return await finish_run(store, io, store.get_run(run_id), started=time.perf_counter())
    finally:
        io.close()


def _delete_result(store: Store, run_id: str, case_id: str, epoch: int = 0) -> None:
    r = t.results.c
    gone = sa.delete(t.results).where(r.run_id == run_id, r.case_id == case_id, r.epoch == epoch)
    with store.write() as conn:
        deleted = conn.execute(gone)
    assert deleted.rowcount == 1


async def test_a_run_with_a_result_missing_from_the_record_ends_failed(
    store: Store, server: Any
) -> None:
    run_id = await _running_again(store, server.base_url, 6, epochs=2)
    _delete_result(store, run_id, "case-00002", epoch=1)  # one of its two epochs
    finished = await _finish(store, run_id)
    assert finished.status is RunStatus.failed and finished.passed is False
    assert finished.stop_reason is not None
    assert finished.stop_reason.startswith("1 of the 12 planned results are missing")
    stored = store.get_run(run_id)
    assert (stored.status, stored.stop_reason) == (RunStatus.failed, finished.stop_reason)
    assert stored.counts.total == 11
    assert "derived" not in stored.metrics


async def test_a_run_of_some_cases_is_checked_against_those(store: Store, server: Any) -> None:
    run_id = await _running_again(
        store, server.base_url, 6, cases=["case-00001", "case-00003", "case-00005"]
    )
    finished = await _finish(store, run_id)
    assert finished.status is RunStatus.completed and finished.stop_reason is None
    with store.write() as conn:
        conn.execute(
            sa.update(t.runs).where(t.runs.c.id == run_id).values(status="running", passed=None)
        )
    _delete_result(store, run_id, "case-00003")
    again = await _finish(store, run_id)
    assert again.status is RunStatus.failed
    assert again.stop_reason is not None
    assert again.stop_reason.startswith("1 of the 3 planned results are missing")


async def test_a_run_stopped_early_keeps_its_own_reason(store: Store, server: Any) -> None:
    """A canceled run has fewer results than planned by design: its status and reason
    stay what the stop said."""
    run_id = await _running_again(store, server.base_url, 4)
    _delete_result(store, run_id, "case-00001")
    io = StoreIO()
    try:
        finished = await finish_run(
            store,
            io,
            store.get_run(run_id),
            started=time.perf_counter(),
            stop_reason="canceled by the user",
        )
    finally:
        io.close()
    assert (finished.status, finished.stop_reason) == (RunStatus.canceled, "canceled by the user")
