"""Schema 0004 (workspace kinds, a run's tier) upgrades a populated 0003 database on
SQLite and PostgreSQL without losing a row, and the kinds store versions by content."""

from __future__ import annotations

import sqlalchemy as sa

import evalbook
from evalbook.core.kind import GenerationKind, KindMessage
from evalbook.storage import tables as t
from evalbook.storage.db import current_revision, head_revision, make_engine, upgrade
from evalbook.storage.kinds import latest_kinds, save_kind, workspace_kind
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def _drop_all(engine: sa.Engine) -> None:
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        for table in reversed(t.metadata.sorted_tables):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}{cascade}"))
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


async def test_0003_with_runs_upgrades_to_head(db_url: str) -> None:
    engine = make_engine(db_url)
    _drop_all(engine)
    upgrade(engine, "0003")
    assert current_revision(engine) == "0003"
    suite = load_suite_from_dict(
        {"id": "up", "model": "mock:echo", "prompt": "{{ q }}", "cases": [{"vars": {"q": "a"}}]}
    )
    # A run recorded under 0003 (its columns exactly: no tier yet).
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'w', :now)"),
            {"now": "2026-11-30T00:00:00+00:00"},
        )
    engine.dispose()
    store = Store.open(db_url)  # brings the schema to head, as every start does
    try:
        assert current_revision(store.engine) == head_revision()
        run = await evalbook.arun(suite, store=store)
        assert store.get_run(run.id).tier is None and run.passed
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("runs")}
        assert "tier" in columns and sa.inspect(store.engine).has_table("kinds")
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM workspaces WHERE id = 'w'")).scalar()
    finally:
        store.close()


def test_kinds_are_versioned_by_content(store: Store) -> None:
    kind = GenerationKind(name="k", messages=[KindMessage(role="user", content="{{ x }}")])
    first, created = save_kind(store, "w1", kind)
    assert created and first.version == 1
    same, created = save_kind(store, "w1", kind)
    assert not created and same.version == 1
    changed, created = save_kind(store, "w1", kind.model_copy(update={"tier": "fast"}))
    assert created and changed.version == 2
    assert latest_kinds(store, "w1")["k"].tier == "fast"
    assert latest_kinds(store, "w2") == {}  # another workspace sees none of them
    assert workspace_kind(store, "w1", "k", 1) == first
