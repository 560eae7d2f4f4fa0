"""The store on real SQLite and PostgreSQL: migrations, idempotent upserts, queries."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import evalbook
from evalbook.errors import NotFoundError, UserError
from evalbook.storage import tables
from evalbook.storage.db import current_revision, head_revision
from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from ..executor.helpers import server_model, yes_no_suite


def test_migrations_build_exactly_the_tables(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []


def test_reopening_is_idempotent(db_url: str) -> None:
    Store.open(db_url).close()
    store = Store.open(db_url)
    assert current_revision(store.engine) == head_revision()
    store.close()


async def test_results_upsert_never_duplicates(store: Store, server: Any) -> None:
    run = await evalbook.arun(yes_no_suite(5, server.base_url), store=store)
    results = list(store.iter_results(run.id))
    store.save_results([(r, i) for i, r in enumerate(results)])  # a retried write
    store.save_results([(r, i) for i, r in enumerate(results)])
    again = list(store.iter_results(run.id))
    assert [r.id for r in again] == [r.id for r in results]
    assert [r.scores for r in again] == [r.scores for r in results]
    with store.engine.connect() as conn:
        n_scores = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.scores)
            .where(tables.scores.c.run_id == run.id)
        ).scalar_one()
    assert n_scores == 5


async def test_result_round_trip_keeps_everything(store: Store, server: Any) -> None:
    run = await evalbook.arun(yes_no_suite(1, server.base_url), store=store)
    [result] = list(store.iter_results(run.id))
    assert result.input == {"i": 0, "answer": "yes"}
    assert result.messages[0].text == "[[answer=yes]] question 0"
    assert result.prompt == "[[answer=yes]] question 0"
    assert result.scores[0].spec["type"] == "equals"
    assert result.attempts[0].outcome == "ok" and result.created_at.tzinfo is not None
    assert result.cache_key and len(result.cache_key) == 64


async def test_run_lookup_by_prefix_and_filters(store: Store, server: Any) -> None:
    a = await evalbook.arun(yes_no_suite(2, server.base_url), store=store, alias="prod", tags=["x"])
    b = await evalbook.arun(yes_no_suite(2, server.base_url, suite_id="other"), store=store)
    assert store.get_run(a.id[:8]).id == a.id
    with pytest.raises(NotFoundError):
        store.get_run("ffffffff-0000")
    assert [r.id for r in store.list_runs()] == [b.id, a.id]
    assert [r.id for r in store.list_runs(alias="prod")] == [a.id]
    assert [r.id for r in store.list_runs(tag="x")] == [a.id]
    assert [r.id for r in store.list_runs(suite_id="other")] == [b.id]
    assert [r.id for r in store.list_runs(status="completed", limit=1)] == [b.id]


async def test_secrets_never_reach_the_database(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-very-secret-value-123456"
    monkeypatch.setenv("MY_KEY", secret)
    with run_test_server_in_thread(TestServerConfig(required_api_key=secret)) as srv:
        suite = yes_no_suite(
            3, srv.base_url, model=server_model(srv.base_url, api_key_env="MY_KEY")
        )
        run = await evalbook.arun(suite, store=store)
    assert run.counts.passed == 1
    with store.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert secret not in json.dumps([str(v) for v in row]), table.name
    assert store.get_run(run.id).model["api_key_env"] == "MY_KEY"


def test_prompt_version_immutability_is_enforced_by_the_store(store: Store) -> None:
    suite = yes_no_suite(1, "http://127.0.0.1:1/v1")
    version = suite.prompt.latest
    model = evalbook.ModelConfig(provider="mock", name="echo")
    store.save_definitions(suite, "p", version, model, workspace_id="default")
    store.save_definitions(suite, "p", version, model, workspace_id="default")  # same: fine
    changed = version.model_copy(update={"system": "new system"})
    with pytest.raises(UserError, match="immutable"):
        store.save_definitions(suite, "p", changed, model, workspace_id="default")
    # Another workspace numbers its own prompt; neither sees nor changes the other's.
    store.save_definitions(suite, "p", changed, model, workspace_id="other")
    assert store.get_prompt_version("p", version.version, workspace_id="other") == changed
    assert store.get_prompt_version("p", version.version, workspace_id="default") == version
    with pytest.raises(NotFoundError):
        store.get_prompt_version("p", version.version, workspace_id="third")
