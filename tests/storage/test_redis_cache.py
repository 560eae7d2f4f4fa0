"""The response cache in a real Redis (127.0.0.1:6379) when EVALBOOK_REDIS_URL is set."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.storage import tables
from evalbook.storage.redis_cache import RedisCache
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisCache]:
    """A private key prefix per test, removed afterwards."""
    prefix = f"evalbook-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("EVALBOOK_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("EVALBOOK_REDIS_PREFIX", prefix)
    cache = RedisCache(REDIS_URL, prefix=prefix)
    yield cache
    cache.clear()
    cache.close()


def _db_cache_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.cache)).scalar_one())


def test_a_second_run_is_answered_from_redis(
    redis_env: RedisCache, db_url: str, server: Any
) -> None:
    store = Store.open(db_url)
    try:
        assert store.redis is not None
        first = evalbook.run(yes_no_suite(6, server.base_url), store=store)
        asked = server.requests
        second = evalbook.run(yes_no_suite(6, server.base_url), store=store)
        assert server.requests == asked == 6  # nothing asked the second time
        assert second.counts.cached == 6 and second.score == first.score
        assert _db_cache_rows(store) == 0  # the database cache is not used
        key = next(iter(store.iter_results(first.id))).cache_key
        assert key is not None and 86_000 < redis_env.ttl(key) <= 86_400
    finally:
        store.close()


def test_entries_expire_after_the_ttl(
    redis_env: RedisCache, db_url: str, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_CACHE_TTL_S", "1")
    store = Store.open(db_url)
    try:
        evalbook.run(yes_no_suite(2, server.base_url), store=store)
        time.sleep(1.3)
        again = evalbook.run(yes_no_suite(2, server.base_url), store=store)
        assert again.counts.cached == 0 and server.requests == 4
    finally:
        store.close()


def test_clearing_one_prompt_scope_keeps_the_others(redis_env: RedisCache) -> None:
    redis_env.put_many(
        [
            {"key": "k1", "scope": "qa", "provider": "p", "model": "m", "response": {"text": "a"}},
            {"key": "k2", "scope": "qa", "provider": "p", "model": "m", "response": {"text": "b"}},
            {
                "key": "k3",
                "scope": "other",
                "provider": "p",
                "model": "m",
                "response": {"text": "c"},
            },
        ]
    )
    # First writer wins, as in the database.
    redis_env.put_many(
        [{"key": "k1", "scope": "qa", "provider": "p", "model": "m", "response": {"text": "z"}}]
    )
    assert redis_env.get_many(["k1", "k3", "nope"]) == {"k1": {"text": "a"}, "k3": {"text": "c"}}
    assert redis_env.clear("qa") == 2
    assert redis_env.get_many(["k1", "k2", "k3"]) == {"k3": {"text": "c"}}
    assert redis_env.clear() == 1
    assert redis_env.get_many(["k3"]) == {}
