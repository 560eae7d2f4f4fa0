"""The database dispatcher: submit (idempotent), cancel and requeue through the queue
in the ``runs`` table, waking a local pool after each."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.executor.launch import prepare_run
from evalbook.storage import queue, tables
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def _pending(store: Store) -> str:
    suite = load_suite_from_dict(
        {
            "id": "dispatch",
            "name": "dispatch",
            "model": "mock:echo",
            "prompt": "q {{ i }}",
            "scorers": ["non-empty"],
            "cases": [{"id": "c1", "vars": {"i": 1}}],
        }
    )
    return prepare_run(store, suite).run.id


def _exists(store: Store, run_id: str) -> bool:
    with store.engine.connect() as conn:
        query = sa.select(tables.runs.c.id).where(tables.runs.c.id == run_id)
        return conn.execute(query).first() is not None


def test_submit_queues_the_run_and_wakes_the_pool(store: Store) -> None:
    woken: list[str] = []
    dispatcher = DatabaseDispatcher(store, wake=lambda: woken.append("wake"))
    run_id = _pending(store)
    assert dispatcher.submit(run_id) == run_id
    assert woken == ["wake"]
    assert queue.claim(store, "w1", lease_s=30) == run_id


def test_a_second_submit_with_the_key_gets_the_first_run_and_drops_its_own(store: Store) -> None:
    woken: list[str] = []
    dispatcher = DatabaseDispatcher(store, wake=lambda: woken.append("wake"))
    first, second = _pending(store), _pending(store)
    assert dispatcher.submit(first, idempotency_key="k") == first
    # The race the server's early lookup can miss: both requests recorded a run.
    assert dispatcher.submit(second, idempotency_key="k") == first
    assert not _exists(store, second) and _exists(store, first)
    assert woken == ["wake"]  # nothing new to pick up the second time
    assert dispatcher.submit(_pending(store), idempotency_key="other") != first


def test_cancel_and_requeue(store: Store) -> None:
    woken: list[str] = []
    dispatcher = DatabaseDispatcher(store, wake=lambda: woken.append("wake"))
    run_id = _pending(store)
    dispatcher.submit(run_id)
    assert dispatcher.cancel(run_id) is RunStatus.canceled  # nobody had started it
    assert dispatcher.cancel(run_id) is RunStatus.canceled  # finished: left as it is
    assert dispatcher.requeue(run_id) is True
    assert store.get_run(run_id).status is RunStatus.pending
    assert dispatcher.requeue(run_id) is False  # not finished any more
    assert woken == ["wake"] * 4
    with pytest.raises(NotFoundError):
        dispatcher.cancel("no-such-run")
