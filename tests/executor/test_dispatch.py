"""The database dispatcher: submit (idempotent), cancel and requeue through the queue
in the ``runs`` table, waking a local pool after each."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.core.suite import Suite
from evalbook.errors import NotFoundError
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.executor.launch import Queued, prepare_run
from evalbook.storage import queue, tables
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def _suite() -> Suite:
    return load_suite_from_dict(
        {
            "id": "dispatch",
            "name": "dispatch",
            "model": "mock:echo",
            "prompt": "q {{ i }}",
            "scorers": ["non-empty"],
            "cases": [{"id": "c1", "vars": {"i": 1}}],
        }
    )


def _pending(store: Store) -> str:
    return prepare_run(store, _suite()).run.id


def _recorder(store: Store, made: list[str]) -> Callable[[Queued], str]:
    """A ``record`` for ``submit_recording``: ``prepare_run`` with its ``queued``."""

    def record(queued: Queued) -> str:
        run_id = prepare_run(store, _suite(), queued=queued).run.id
        made.append(run_id)
        return run_id

    return record


def _counting_writes(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    writes: list[int] = []
    write = store.write

    def counted() -> AbstractContextManager[sa.Connection]:
        writes.append(1)
        return write()

    monkeypatch.setattr(store, "write", counted)
    return writes


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


def test_submit_recording_records_the_run_queued_in_one_write(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    woken: list[str] = []
    dispatcher = DatabaseDispatcher(store, wake=lambda: woken.append("wake"))
    made: list[str] = []
    writes = _counting_writes(store, monkeypatch)
    run_id = dispatcher.submit_recording(
        _recorder(store, made), workspace_id="default", idempotency_key="k"
    )
    assert made == [run_id] and len(writes) == 1  # recorded and queued: one transaction
    assert woken == ["wake"]
    assert queue.find_idempotent(store, "default", "k") == run_id
    with store.engine.connect() as conn:
        c = tables.runs.c
        row = conn.execute(sa.select(c.created_at, c.queued_at).where(c.id == run_id)).one()
    assert as_utc(row.queued_at) >= as_utc(row.created_at)  # queued as it was recorded
    assert queue.claim(store, "w1", lease_s=30) == run_id


def test_submit_recording_with_a_used_key_gets_the_first_run_and_records_nothing(
    store: Store,
) -> None:
    woken: list[str] = []
    dispatcher = DatabaseDispatcher(store, wake=lambda: woken.append("wake"))
    made: list[str] = []
    first = dispatcher.submit(_pending(store), idempotency_key="k")
    # The race the server's early lookup can miss: the insert meets the key.
    assert (
        dispatcher.submit_recording(
            _recorder(store, made), workspace_id="default", idempotency_key="k"
        )
        == first
    )
    assert made == [] and woken == ["wake"]  # its run was never recorded
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar() == 1
    # Another key, or none, records another run.
    other = dispatcher.submit_recording(
        _recorder(store, made), workspace_id="default", idempotency_key="other"
    )
    assert other != first and made == [other]
    assert dispatcher.submit_recording(_recorder(store, made), workspace_id="default") == made[1]


def test_submit_recording_leaves_a_changed_submit_its_say(store: Store) -> None:
    calls: list[str] = []

    class Sending(DatabaseDispatcher):
        def submit(self, run_id: str, *, idempotency_key: str | None = None) -> str:
            calls.append(run_id)
            return super().submit(run_id, idempotency_key=idempotency_key)

    made: list[str] = []
    run_id = Sending(store).submit_recording(_recorder(store, made), workspace_id="default")
    assert calls == made == [run_id]
    assert queue.claim(store, "w1", lease_s=30) == run_id


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
