"""A store writes the definitions a run stands on (its suite, prompt version and model
config: immutable rows, never deleted) once: a run of a known suite, prompt and model
records the run alone. What it knows is only what committed: definitions of a
transaction rolled back are written again by the next run."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.core.run import RunRecord
from evalbook.core.suite import Suite
from evalbook.storage import tables
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite

_DEFINITIONS = ("suites", "prompt_versions", "model_configs")


@contextlib.contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """The SQL the store sends meanwhile (its reader shares the engine's events)."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)


def _touching(sent: list[str], table: str) -> list[str]:
    return [s for s in sent if f" {table} " in f" {s} ".replace("(", " ").replace("\n", " ")]


def _run(suite: Suite, model: evalbook.ModelConfig, run_id: str | None = None) -> RunRecord:
    version = suite.prompt.latest
    return RunRecord(
        id=run_id or str(uuid.uuid4()), title="t", suite_id=suite.id, suite_name=suite.name,
        suite_version=suite.version, suite_hash=suite.hash, prompt_name=suite.prompt.name,
        prompt_version=version.version, prompt_hash=version.hash, model=model.model_dump(),
        model_hash=model.hash, threshold=0.5, evalbook_version="0", created_at=datetime.now(UTC),
    )  # fmt: skip


def _save(store: Store, suite: Suite, model: evalbook.ModelConfig, run: RunRecord | None) -> str:
    version = suite.prompt.latest
    return store.save_definitions(
        suite, suite.prompt.name, version, model, workspace_id="default", run=run
    )


def _suites_stored(store: Store, suite_hash: str) -> int:
    with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(tables.suites.c.hash == suite_hash)
        return int(conn.execute(query).scalar_one())


def test_a_run_of_known_definitions_records_the_run_alone(store: Store) -> None:
    suite = yes_no_suite(3, "http://127.0.0.1:1/v1")
    model = evalbook.ModelConfig(provider="mock", name="echo")
    _save(store, suite, model, _run(suite, model))
    with _statements(store) as sent:
        again = _run(suite, model)
        _save(store, suite, model, again)
    for table in _DEFINITIONS:
        assert _touching(sent, table) == [], table
    assert len(_touching(sent, "runs")) == 1
    assert store.get_run(again.id).suite_hash == suite.hash

    # Another model: its config is written, the suite and the prompt version are not.
    other = evalbook.ModelConfig(provider="mock", name="echo", seed=7)
    with _statements(store) as sent:
        _save(store, suite, other, _run(suite, other))
    assert _touching(sent, "model_configs") and not _touching(sent, "suites")
    assert not _touching(sent, "prompt_versions")

    # Another store on the same database (another process) knows nothing yet: it asks.
    fresh = Store.open(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        with _statements(fresh) as sent:
            _save(fresh, suite, model, _run(suite, model))
        assert _touching(sent, "suites") and _touching(sent, "prompt_versions")
    finally:
        fresh.close()


def test_definitions_of_a_transaction_rolled_back_are_written_again(store: Store) -> None:
    first = yes_no_suite(2, "http://127.0.0.1:1/v1", suite_id="first")
    model = evalbook.ModelConfig(provider="mock", name="echo")
    taken = _run(first, model)
    _save(store, first, model, taken)
    # A run whose id is taken: its transaction, with the new suite in it, rolls back.
    second = yes_no_suite(2, "http://127.0.0.1:1/v1", suite_id="second")
    with pytest.raises(Exception) as refused:
        _save(store, second, model, _run(second, model, run_id=taken.id))
    assert "runs" in str(refused.value).lower() or "unique" in str(refused.value).lower()
    assert _suites_stored(store, second.hash) == 0
    # The next run of it records it: the store did not take it as stored.
    run = _run(second, model)
    assert _save(store, second, model, run) == second.hash
    assert _suites_stored(store, second.hash) == 1
    assert store.get_suite(second.hash).id == "second"
    assert store.get_run(run.id).suite_hash == second.hash


def test_a_submissions_one_statement_reads_need_no_transaction(store: Store) -> None:
    """The reads every keyed request and every run submission makes go through the
    store's reader: on PostgreSQL in autocommit (no BEGIN and ROLLBACK round trips)."""
    from evalbook.storage.catalog import registered_derived_metrics, suite_refs
    from evalbook.storage.workspaces import create_key, find_key, has_keys

    key, _ = create_key(store)
    levels: list[str | None] = []

    def note(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            levels.append(conn.get_execution_options().get("isolation_level"))

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        assert find_key(store, key) is not None and has_keys(store)
        assert suite_refs(store, "default", "none") == []
        assert registered_derived_metrics(store, "default", "none", "1") == []
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)
    assert len(levels) == 5
    want = "AUTOCOMMIT" if store.dialect == "postgresql" else None
    assert levels == [want] * 5
