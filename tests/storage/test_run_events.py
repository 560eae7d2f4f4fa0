"""A run's progress log on real SQLite and PostgreSQL: rows appended in order, read
after an id, and the tail a stream follows."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from evalbook.core.run import RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.storage import run_events, tables
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite


def _pending(store: Store, server: Any) -> str:
    return prepare_run(store, yes_no_suite(3, server.base_url)).run.id


def test_events_are_read_in_order_after_an_id(store: Store, server: Any) -> None:
    run_id = _pending(store, server)
    run_events.append_events(store, [(run_id, "item", {"n": i}) for i in range(5)])
    run_events.append_events(store, [("other-run", "item", {"n": 99})])
    events = run_events.read_events(store, run_id)
    assert [e.data["n"] for e in events] == [0, 1, 2, 3, 4]
    later = run_events.read_events(store, run_id, after=events[2].id)
    assert [e.data["n"] for e in later] == [3, 4]
    assert run_events.read_events(store, run_id, after=events[-1].id) == []
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(tables.run_events)).scalar()
    assert total == 6


def test_the_tail_says_whether_more_can_come(store: Store, server: Any) -> None:
    run_id = _pending(store, server)
    assert run_events.tail(store, run_id, after=0).status is RunStatus.pending
    run_events.append_events(store, [(run_id, "status", {"status": "running"})])
    first = run_events.tail(store, run_id, after=0).events
    assert [e.kind for e in first] == ["status"]
    run = store.get_run(run_id)
    run.status = RunStatus.completed
    store.update_run(run)
    look = run_events.tail(store, run_id, after=first[-1].id)
    assert look.events == [] and look.status is RunStatus.completed
    assert look.logged and not look.finished_logged
    run_events.append_events(store, [(run_id, "finished", {"status": "completed"})])
    last = run_events.tail(store, run_id, after=first[-1].id).events[-1].id
    assert run_events.tail(store, run_id, after=last).finished_logged
    assert run_events.run_owner(store, run_id) == "default"


def test_a_summary_logged_while_the_tail_looks_is_returned_not_skipped(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker records the run's end, then logs its summary. When the summary lands
    between the tail's read of new events (none) and its look at the log, the tail used to
    answer "no events, summary logged": the stream ended without ever sending it."""
    run_id = _pending(store, server)
    run_events.append_events(store, [(run_id, "status", {"status": "running"})])
    [started] = run_events.read_events(store, run_id)
    run = store.get_run(run_id)
    run.status = RunStatus.completed
    store.update_run(run)
    read = run_events.read_events

    def read_then_summary(*args: Any, **kwargs: Any) -> list[run_events.StoredEvent]:
        events = read(*args, **kwargs)
        if not events and not read_then_summary.done:  # type: ignore[attr-defined]
            read_then_summary.done = True  # type: ignore[attr-defined]
            run_events.append_events(store, [(run_id, "finished", {"status": "completed"})])
        return events

    read_then_summary.done = False  # type: ignore[attr-defined]
    monkeypatch.setattr(run_events, "read_events", read_then_summary)
    look = run_events.tail(store, run_id, after=started.id)
    assert [e.kind for e in look.events] == ["finished"]
