"""The response cache in Redis, with a time to live, when ``EVALBOOK_REDIS_URL`` is set.

Why Redis at all when the database already caches: a team sharing a server runs the same
suites over and over from many machines; Redis answers repeated prompts without touching
the run database and forgets them on its own (default 24 hours, ``EVALBOOK_CACHE_TTL_S``),
so the cache never grows without bound. Entries are scoped per prompt: the scope is part
of every cache key's hash, and each scope keeps a set of its keys so one prompt's entries
can be cleared alone. The first writer of a key wins (``SET NX``), as in the database.

A cache is an optimisation, never a reason to lose an answer: when Redis fails (stopped,
unreachable, out of memory) reads answer "not cached" and writes are dropped, with one
warning, and the cache is tried again a minute later.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from evalbook.errors import MissingExtraError
from evalbook.plain_text import get_logger

__all__ = ["DEFAULT_TTL_S", "RedisCache", "redis_cache_from_env"]

DEFAULT_TTL_S = 24 * 3600
#: Seconds a failed cache is left alone before it is tried again.
RETRY_AFTER_S = 60.0

log = get_logger("evalbook.cache")


class RedisCache:
    def __init__(self, url: str, *, ttl_s: int = DEFAULT_TTL_S, prefix: str = "evalbook:") -> None:
        try:
            import redis
        except ImportError as exc:
            raise MissingExtraError("a Redis response cache", "redis") from exc

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.url = url
        #: While set (a monotonic time), the cache failed and is skipped until then.
        self.down_until: float | None = None

    def _available(self) -> bool:
        return self.down_until is None or time.monotonic() >= self.down_until

    def _failed(self, exc: Exception) -> None:
        if self.down_until is None:
            log.warning(
                "response cache %s failed (%s); going on without it and trying again in %gs",
                self._shown_url(),
                exc,
                RETRY_AFTER_S,
            )
        self.down_until = time.monotonic() + RETRY_AFTER_S

    def _shown_url(self) -> str:
        host = self.url.rsplit("@", 1)[-1]  # never a password in a log
        return host if "://" in host else f"redis://{host}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}cache:{key}"

    def _scope(self, scope: str) -> str:
        return f"{self.prefix}scope:{scope}"

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not keys or not self._available():
            return {}
        try:
            values = self.client.mget([self._key(k) for k in keys])
        except Exception as exc:  # redis.RedisError, OSError: a cache miss, never an error
            self._failed(exc)
            return {}
        self.down_until = None
        return {k: json.loads(v) for k, v in zip(keys, values, strict=True) if v is not None}

    def put_many(self, entries: Sequence[dict[str, Any]]) -> None:
        if not entries or not self._available():
            return
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            body = json.dumps(entry["response"], separators=(",", ":"))
            pipe.set(self._key(entry["key"]), body, ex=self.ttl_s, nx=True)
            pipe.sadd(self._scope(entry["scope"]), entry["key"])
            pipe.expire(self._scope(entry["scope"]), self.ttl_s)
        try:
            pipe.execute()
        except Exception as exc:  # the answers are recorded already; only reuse is lost
            self._failed(exc)
            return
        self.down_until = None

    def clear(self, scope: str | None = None) -> int:
        """Delete one scope's entries (or every entry of this prefix); the number deleted."""
        if scope is not None:
            found = self.client.smembers(self._scope(scope))
            members = [m.decode() if isinstance(m, bytes) else str(m) for m in found]
            deleted = int(self.client.delete(*[self._key(m) for m in members])) if members else 0
            self.client.delete(self._scope(scope))
            return deleted
        deleted = 0
        for pattern in (f"{self.prefix}cache:*", f"{self.prefix}scope:*"):
            batch: list[bytes] = []
            for name in self.client.scan_iter(match=pattern, count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    n = int(self.client.delete(*batch))
                    deleted += n if pattern.endswith("cache:*") else 0
                    batch = []
            if batch:
                n = int(self.client.delete(*batch))
                deleted += n if pattern.endswith("cache:*") else 0
        return deleted

    def ttl(self, key: str) -> int:
        """Seconds ``key`` has left (-2: absent)."""
        return int(self.client.ttl(self._key(key)))

    def close(self) -> None:
        self.client.close()


def redis_cache_from_env() -> RedisCache | None:
    url = os.environ.get("EVALBOOK_REDIS_URL")
    if not url:
        return None
    ttl = int(os.environ.get("EVALBOOK_CACHE_TTL_S") or DEFAULT_TTL_S)
    prefix = os.environ.get("EVALBOOK_REDIS_PREFIX") or "evalbook:"
    return RedisCache(url, ttl_s=ttl, prefix=prefix)
