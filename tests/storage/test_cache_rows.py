"""The response cache's rows: what the store writes through the DB-API on SQLite is what
SQLAlchemy's insert of the same entry stores, and lookups give back what was put."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.store import Store


def _entry(key: str, text: str) -> dict[str, Any]:
    return {
        "key": key,
        "scope": "prompt-a",
        "provider": "openai-compatible",
        "model": "m",
        "response": {"text": text, "structured": {"a": [1, 2.5, None]}, "input_tokens": 3},
    }


def _rows(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            'SELECT "key", scope, provider, model, CAST(response AS TEXT),'
            " CAST(created_at AS TEXT) FROM cache"
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_cache_rows_are_those_sqlalchemy_writes_and_the_first_writer_wins(store: Store) -> None:
    text = 'ünï "quoted" \\ 𝄞 \t'
    store.cache_put_many([_entry("k1", text), _entry("k2", "two")])
    store.cache_put_many([_entry("k1", "a later answer")])  # first writer wins
    got = store.cache_get_many(["k1", "k2", "missing"])
    assert got == {"k1": _entry("k1", text)["response"], "k2": _entry("k2", "two")["response"]}
    assert store.cache_get_many([]) == {}

    # the same entry through SQLAlchemy's insert, for comparison of the stored values
    with store.write() as conn:
        at = _rows(store)["k1"][4]
        row = {**_entry("k3", text), "created_at": datetime.fromisoformat(at).replace(tzinfo=UTC)}
        store.insert_ignore(conn, t.cache, [row])
    rows = _rows(store)
    assert rows["k1"] == rows["k3"]
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(t.cache.c.response).where(t.cache.c.key == "k1")).scalar()
    assert stored == _entry("k1", text)["response"]


def test_on_sqlite_a_batch_records_its_cache_entries_in_its_transaction(
    tmp_path: Any, caplog: Any, server: Any
) -> None:
    """One commit for a batch's results and their answers' cache entries; entries that
    fail to insert are rolled back to a savepoint, and the results are still recorded."""
    import logging

    import evalbook

    from ..executor.helpers import yes_no_suite

    store = Store.open(f"sqlite:///{tmp_path / 'one.db'}")
    apart = Store.open(f"sqlite:///{tmp_path / 'two.db'}")
    try:
        assert store.cache_with_results
        run = evalbook.run(yes_no_suite(1, server.base_url), store=store, use_cache=False)
        [model] = list(store.iter_results(run.id))

        def result(case: str) -> tuple[Any, int]:
            return model.model_copy(update={"id": f"r-{case}", "case_id": case}), int(case[1:])

        store.save_results([result("c1"), result("c2")], [_entry("k1", "one")])
        apart.cache_put_many([_entry("k1", "one")])
        assert store.cache_get_many(["k1"]) == {"k1": _entry("k1", "one")["response"]}
        assert _rows(store)["k1"][:4] == _rows(apart)["k1"][:4]
        cases = {r.case_id for r in store.iter_results(run.id)}
        assert {"c1", "c2"} <= cases

        broken = {**_entry("k3", "three"), "scope": None}  # NOT NULL: the insert fails
        with caplog.at_level(logging.WARNING, logger="evalbook.storage"):
            store.save_results([result("c3")], [_entry("k2", "two"), broken])
        assert "2 responses were not cached" in caplog.text
        assert {r.case_id for r in store.iter_results(run.id)} == cases | {"c3"}
        assert store.cache_get_many(["k2", "k3"]) == {}  # the batch's entries rolled back
        store.save_results([], [_entry("k4", "four")])  # entries alone
        assert list(store.cache_get_many(["k4"])) == ["k4"]
    finally:
        store.close()
        apart.close()
