"""A database written by every released schema, with rows in every table, upgrades to head on
SQLite and PostgreSQL: every row is still there, unchanged, and evalbook reads and extends it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import evalbook
from evalbook.server import ServerSettings, create_app
from evalbook.storage.db import current_revision, head_revision, make_engine
from evalbook.storage.feedback import add_feedback, list_feedback
from evalbook.storage.pairwise import list_comparisons
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key, ensure_workspace
from tests.storage.feedback_runs import judge_registered
from tests.storage.released_schemas import (
    build_released,
    comparable,
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
            if table == "prompt_versions":  # per workspace since 0006: checked below
                continue
            want = sorted(_key(r, columns) for r in before[table])
            got = sorted(_key(r, columns) for r in after[table])
            assert got == want, f"{table} changed upgrading from {revision}"
        # Every prompt version keeps its content, in each workspace that had it (since 0003:
        # those that registered or ran it; before, every run was the default workspace's).
        held = ["prompt_name", "version", "hash", "body"]
        if "workspaces" in kept:
            held.insert(0, "workspace_id")
        want_prompts = {_key(r, held) for r in before["prompt_versions"]}
        assert {_key(r, held) for r in after["prompt_versions"]} == want_prompts
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
        again = await _run_again(store, source, reviewed)
        assert again.status == "completed" and again.counts.total == 4
    finally:
        store.close()


@pytest.mark.slow
async def test_0006_gives_each_workspace_the_prompt_versions_it_held(
    db_url: str, source: Store
) -> None:
    """Each global prompt version goes to every workspace that registered or ran it, dated by
    when that workspace first had it (what the API showed before); one nobody held goes to
    the default workspace. Afterwards a workspace reads only its own."""
    engine = make_engine(db_url)
    drop_all(engine)
    engine.dispose()
    build_released(db_url, "0005", source.engine)
    engine = make_engine(db_url)
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO prompt_versions (prompt_name, version, hash, body, created_at)"
                " VALUES ('orphan', 1, :h, :b, :at), ('solo', 3, :h, :b, :at)"
            ),
            {"h": "0" * 64, "b": json.dumps({"version": 1, "messages": []}), "at": at},
        )
        conn.execute(
            sa.text(
                "INSERT INTO workspace_prompts (workspace_id, prompt_name, version, created_at)"
                " VALUES ('solo-ws', 'solo', 3, :later)"
            ),
            {"later": at + timedelta(days=1)},
        )
        old = {
            (r.prompt_name, r.version): (
                r.hash,
                comparable(json.loads(r.body) if isinstance(r.body, str) else r.body),
            )
            for r in conn.execute(sa.text("SELECT * FROM prompt_versions"))
        }
        since: dict[tuple[str, str, int], datetime] = {}
        holders = sa.text(
            "SELECT workspace_id, prompt_name, prompt_version, created_at FROM runs UNION ALL"
            " SELECT workspace_id, prompt_name, version, created_at FROM workspace_prompts"
        )
        for ws, name, version, when in conn.execute(holders):
            when = comparable(when if isinstance(when, datetime) else _parse(when))
            key = (ws, name, version)
            since[key] = min(since.get(key, when), when)
    engine.dispose()
    want = {(ws, n, v, *old[(n, v)], when) for (ws, n, v), when in since.items()}
    want.add(("default", "orphan", 1, *old[("orphan", 1)], comparable(at)))
    lab_id = ensure_workspace(source, "lab").id
    assert {w for w, *_ in want} == {"default", lab_id, "solo-ws"}

    store = Store.open(db_url)
    try:
        got = {
            (r["workspace_id"], r["prompt_name"], r["version"], r["hash"], r["body"],
             r["created_at"])
            for r in read_rows(store.engine)["prompt_versions"]
        }  # fmt: skip
        assert got == want
        assert "workspace_prompts" not in sa.inspect(store.engine).get_table_names()
        app = create_app(ServerSettings(worker=False), store=store, services=())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                lab = {"Authorization": f"Bearer {create_key(store, 'lab', 'k')[0]}"}
                team = {"Authorization": f"Bearer {source.fixture_key}"}  # type: ignore[attr-defined]
                assert (await api.get("/api/prompts", headers=lab)).json()["items"] == [
                    {"name": "images", "versions": [1], "latest": 1}
                ]
                solo = await api.get("/api/prompts/solo/versions/3", headers=lab)
                assert solo.status_code == 404
                names = [
                    p["name"] for p in (await api.get("/api/prompts", headers=team)).json()["items"]
                ]
                assert "orphan" in names and "solo" not in names
    finally:
        store.close()


@pytest.mark.slow
async def test_0007_drops_the_key_from_scores_to_results_keeping_every_score(
    db_url: str, source: Store
) -> None:
    """The scores of a 0006 database stay, with their primary key and run index; only the
    foreign key to results is gone, and new results with their scores are written."""
    _released_with_key(db_url, "0006", source, "scores", "results")

    store = Store.open(db_url)
    try:
        inspector = sa.inspect(store.engine)
        assert inspector.get_foreign_keys("scores") == []
        assert inspector.get_pk_constraint("scores")["constrained_columns"] == [
            "result_id",
            "scorer_id",
        ]
        assert [ix["column_names"] for ix in inspector.get_indexes("scores")] == [["run_id"]]
        before = read_rows(source.engine)
        _same_rows(before, read_rows(store.engine), ("scores",))
        again = await _run_again(store, source, before["feedback"][0]["run_id"])
        assert again.status == "completed"
        assert all(r.scores for r in store.iter_results(again.id))
    finally:
        store.close()


@pytest.mark.slow
async def test_0010_drops_the_key_from_results_to_runs_keeping_every_result(
    db_url: str, source: Store
) -> None:
    """The results of a 0009 database stay with their keys and indexes; only the foreign
    key to runs is gone (the writer checks a batch's run once), feedback still refers to
    results, registrations get an empty ``derived_metrics``, and evalbook writes on."""
    _released_with_key(db_url, "0009", source, "results", "runs")

    store = Store.open(db_url)
    try:
        inspector = sa.inspect(store.engine)
        assert inspector.get_foreign_keys("results") == []
        assert inspector.get_pk_constraint("results")["constrained_columns"] == ["id"]
        indexes = inspector.get_indexes("results")  # (PostgreSQL: with the unique key's)
        assert [ix["column_names"] for ix in indexes if "duplicates_constraint" not in ix] == [
            ["run_id", "seq"]
        ]
        assert [u["column_names"] for u in inspector.get_unique_constraints("results")] == [
            ["run_id", "case_id", "epoch"]
        ]
        assert {fk["referred_table"] for fk in inspector.get_foreign_keys("feedback")} == {
            "runs",
            "results",
        }
        before, after = read_rows(source.engine), read_rows(store.engine)
        _same_rows(before, after, ("results", "scores", "feedback"))
        # What 0009 could not hold is absent, not invented.
        assert {r["derived_metrics"] for r in after["workspace_suites"]} == {None}
        reviewed = before["feedback"][0]["run_id"]
        with pytest.raises(sa.exc.IntegrityError):  # feedback's key to results still holds
            with store.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO feedback (id, run_id, result_id, case_id, epoch, name,"
                        " created_at) VALUES ('f-x', :r, 'no-such-result', 'c1', 0, 'x',"
                        " CURRENT_TIMESTAMP)"
                    ),
                    {"r": reviewed},
                )
        again = await _run_again(store, source, reviewed)
        assert again.status == "completed" and again.counts.total == 4
    finally:
        store.close()


def _released_with_key(
    db_url: str, revision: str, source: Store, table: str, referred: str
) -> None:
    """Rebuild the database at *db_url* as the released *revision* holding *source*'s rows,
    and check that *table* still refers to *referred* through its foreign key there."""
    engine = make_engine(db_url)
    drop_all(engine)
    engine.dispose()
    build_released(db_url, revision, source.engine)
    engine = make_engine(db_url)
    try:
        keys = sa.inspect(engine).get_foreign_keys(table)
        assert [fk["referred_table"] for fk in keys] == [referred]
    finally:
        engine.dispose()


def _same_rows(
    before: dict[str, list[dict[str, Any]]],
    after: dict[str, list[dict[str, Any]]],
    tables: tuple[str, ...],
) -> None:
    for table in tables:
        want = sorted(_key(r, list(r)) for r in before[table])
        assert sorted(_key(r, list(r)) for r in after[table]) == want, table


async def _run_again(store: Store, source: Store, run_id: str) -> Any:
    """Run the suite of *source*'s run *run_id* again on the upgraded *store*."""
    suite = store.get_suite(source.get_run(run_id).suite_hash)
    with judge_registered():
        return await evalbook.arun(suite, store=store)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
