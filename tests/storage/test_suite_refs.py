"""A workspace's suite versions (``storage/catalog.suite_refs``), on SQLite and PostgreSQL:
registered versions and versions its runs used, each dated by its first appearance, never
another workspace's; and found by index, not by reading every run of the workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

import evalbook
from evalbook.core.run import RunRecord
from evalbook.storage import tables as t
from evalbook.storage.catalog import register_suite, suite_refs
from evalbook.storage.rows import run_to_row
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, ensure_workspace
from evalbook.suites import load_suite_from_dict

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _suite(version: str) -> Any:
    return load_suite_from_dict(
        {
            "id": "capitals",
            "version": version,
            "model": "mock:echo",
            "prompt": "Capital of {{ q }}?",
            "cases": [{"id": "c1", "vars": {"q": f"France {version}"}}],
        }
    )


def _copy(store: Store, run: RunRecord, workspace_id: str, minutes: int) -> None:
    """Another run of ``run``'s suite version, in ``workspace_id``, ``minutes`` after T0."""
    at = T0 + timedelta(minutes=minutes)
    clone = run.model_copy(
        update={
            "id": f"{run.id[:24]}{minutes:012d}",
            "workspace_id": workspace_id,
            "created_at": at,
            "alias": None,
        }
    )
    with store.engine.begin() as conn:
        conn.execute(sa.insert(t.runs), [run_to_row(clone)])


def test_versions_registered_and_used_by_first_appearance(store: Store) -> None:
    other = ensure_workspace(store, "elsewhere").id
    v1, v2, v3 = _suite("1"), _suite("2"), _suite("3")
    run2 = evalbook.run(v2, store=store)
    run3 = evalbook.run(v3, store=store)
    # v2 first used at minute 5 (a later run at 50 does not move it); v3 used here only in
    # another workspace besides the run below, at minute 30.
    _copy(store, run2, DEFAULT_WORKSPACE, 50)
    _copy(store, run2, DEFAULT_WORKSPACE, 5)
    _copy(store, run3, other, 1)
    with store.engine.begin() as conn:  # v3's own run moves to minute 30; v2's to 40
        conn.execute(
            sa.update(t.runs)
            .where(t.runs.c.id == run3.id)
            .values(created_at=T0 + timedelta(minutes=30))
        )
        conn.execute(
            sa.update(t.runs)
            .where(t.runs.c.id == run2.id)
            .values(created_at=T0 + timedelta(minutes=40))
        )
    register_suite(store, DEFAULT_WORKSPACE, v1)

    refs = suite_refs(store, DEFAULT_WORKSPACE, "capitals")
    assert [r.version for r in refs] == ["2", "3", "1"]
    assert refs[0].created_at == T0 + timedelta(minutes=5)
    assert refs[1].created_at == T0 + timedelta(minutes=30)
    assert refs[0].hash == v2.hash and refs[0].case_count == 1
    assert suite_refs(store, DEFAULT_WORKSPACE) == refs
    assert suite_refs(store, DEFAULT_WORKSPACE, "other-suite") == []
    # The other workspace sees only the version it used.
    assert [r.version for r in suite_refs(store, other)] == ["3"]
    assert suite_refs(store, other)[0].created_at == T0 + timedelta(minutes=1)


def test_a_registered_version_is_dated_by_its_registration_when_earlier(store: Store) -> None:
    v1 = _suite("1")
    register_suite(store, DEFAULT_WORKSPACE, v1)
    run = evalbook.run(v1, store=store)
    (ref,) = suite_refs(store, DEFAULT_WORKSPACE, "capitals")
    assert ref.hash == v1.hash
    assert ref.created_at <= run.created_at


def test_first_runs_are_found_by_index_on_sqlite(tmp_path: Any) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        query = (
            sa.select(sa.func.min(t.runs.c.created_at))
            .where(t.runs.c.workspace_id == "w", t.runs.c.suite_hash == "h")
            .compile(store.engine, compile_kwargs={"literal_binds": True})
        )
        with store.engine.connect() as conn:
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            )
        assert "ix_runs_workspace_id_suite_hash_created_at" in plan, plan
        assert "SCAN runs" not in plan.replace("SCAN runs USING COVERING INDEX", ""), plan
    finally:
        store.close()
