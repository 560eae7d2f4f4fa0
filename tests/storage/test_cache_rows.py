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
