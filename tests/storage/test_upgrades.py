"""A database written by every released schema, with rows in every table, upgrades to head on
SQLite and PostgreSQL: every row is still there, unchanged, and evalbook reads and extends it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import evalbook
from evalbook.server import ServerSettings, create_app
from evalbook.storage.db import current_revision, head_revision, make_engine
from evalbook.storage.feedback import add_feedback, list_feedback
from evalbook.storage.pairwise import list_comparisons
from evalbook.storage.store import Store
from tests.storage.feedback_runs import judge_registered
from tests.storage.released_schemas import (
    build_released,
    drop_all,
    populate_head,
    read_rows,
    released_revisions,
    sqlite_url,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A head database filled by evalbook itself: the rows every fixture database copies."""
    store = Store.open(sqlite_url(tmp_path_factory.mktemp("source") / "source.db"))
    store.fixture_key = asyncio.run(populate_head(store))  # type: ignore[attr-defined]
    yield store
    store.close()


def test_the_source_has_rows_in_every_table(source: Store) -> None:
    rows = read_rows(source.engine)
    assert [name for name, table in rows.items() if not table] == []
    assert released_revisions()[:3] == ["0001", "0002", "0003"]


def _key(row: dict[str, Any], columns: list[str]) -> tuple[str, ...]:
    return tuple(repr(row[c]) for c in columns)


@pytest.mark.slow
@pytest.mark.parametrize("revision", released_revisions())
async def test_a_released_database_upgrades_to_head_keeping_every_row(
    db_url: str, source: Store, revision: str
) -> None:
    engine = make_engine(db_url)
    drop_all(engine)
    engine.dispose()
    kept = build_released(db_url, revision, source.engine)
    assert "runs" in kept and "results" in kept

    store = Store.open(db_url)  # every command upgrades the database it opens
    try:
        assert current_revision(store.engine) == head_revision()
        before, after = read_rows(source.engine), read_rows(store.engine)
        for table, columns in kept.items():
            want = sorted(_key(r, columns) for r in before[table])
            got = sorted(_key(r, columns) for r in after[table])
            assert got == want, f"{table} changed upgrading from {revision}"
        for table in set(before) - set(kept):  # tables this release did not have are empty
            assert after[table] == [], table

        # evalbook reads what the old release wrote …
        for old in source.list_runs():
            run = store.get_run(old.id)
            assert (run.status, run.score, run.passed, run.counts) == (
                old.status, old.score, old.passed, old.counts
            )  # fmt: skip
            assert run.metrics == old.metrics
            assert [
                (r.case_id, r.status, r.score, r.output) for r in store.iter_results(run.id)
            ] == [(r.case_id, r.status, r.score, r.output) for r in source.iter_results(old.id)]
            assert store.get_metrics(run.id) == source.get_metrics(old.id)
        reviewed = before["feedback"][0]["run_id"]
        feedback = len(list_feedback(source, reviewed)) if "feedback" in kept else 0
        assert len(list_feedback(store, reviewed)) == feedback
        assert len(list_comparisons(store)) == (1 if "pairwise_comparisons" in kept else 0)
        app = create_app(ServerSettings(worker=False), store=store, services=())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            key = source.fixture_key  # type: ignore[attr-defined]
            headers = {"Authorization": f"Bearer {key}"} if "api_keys" in kept else {}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as api:
                listed = await api.get("/api/runs")
                assert listed.status_code == 200, listed.text
                ids = {r["id"] for r in listed.json()["items"]}
                assert {r.id for r in source.list_runs()} <= ids
                shown = await api.get(f"/api/runs/{reviewed}/results")
                assert shown.status_code == 200 and len(shown.json()["items"]) == 4
                if "api_keys" not in kept:  # pages of a keyed server need a sign-in
                    page = await api.get(f"/runs/{reviewed}")
                    assert page.status_code == 200 and "c3" in page.text

        # … and goes on writing to it.
        add_feedback(store, reviewed, "c3", score=2.0, author="after-upgrade")
        suite = store.get_suite(source.get_run(reviewed).suite_hash)
        with judge_registered():
            again = await evalbook.arun(suite, store=store)
        assert again.status == "completed" and again.counts.total == 4
    finally:
        store.close()
