"""Per-endpoint limits that hold across a fleet: connections in flight, requests and tokens
per minute, and a concurrency window that shrinks on 429 and grows back (AIMD).

Why Redis: every worker process of a fleet calls the same provider quota, so the limits
must be counted in one place. Each piece is one Lua script, so a check and its update are
atomic, and the clock is Redis's (``TIME``), so machines with skewed clocks agree.

- **Connections**: a sorted set of leases (member: lease id, score: expiry). A slot is
  taken when fewer leases than the cap are alive; the holder renews its leases while it
  works (every third of ``lease_s``), so a worker that died (``kill -9``, machine gone)
  stops renewing and its slots come back within ``lease_s``.
- **rpm / tpm**: token buckets holding at most one second's worth, refilled so that no
  sliding minute ever sees more than the limit (capacity + 60 s of refill = the limit).
  Tokens are not known before a call: the prompt's length / 4 + ``max_tokens`` is taken,
  and the difference settled when the answer says what was used.
- **AIMD**: a 429 halves the endpoint's window (from the connections in flight, at most
  once per ``cooldown_s``, so the 429s of one burst count once); every success adds
  ``1 / window``, so the window grows by one per window of successes, back up to the cap.

Without Redis the same limits hold per process (:class:`LocalLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from evalbook.core.model_config import ModelConfig
from evalbook.errors import MissingExtraError

__all__ = ["EndpointLimits", "FleetLimits", "LocalLimits", "Slot", "open_limits"]

#: The concurrency cap when only rpm/tpm are set (AIMD still needs a number).
UNCAPPED = 10_000


@dataclass(frozen=True)
class EndpointLimits:
    endpoint: str
    max_connections: int | None
    rpm: int | None
    tpm: int | None

    @classmethod
    def of(cls, endpoint: str, model: ModelConfig) -> EndpointLimits | None:
        """The limits of ``model`` at ``endpoint``; ``None`` when it sets none."""
        if model.max_connections is None and model.rpm is None and model.tpm is None:
            return None
        return cls(endpoint, model.max_connections, model.rpm, model.tpm)

    @property
    def cap(self) -> int:
        return self.max_connections or UNCAPPED


def bucket_shape(per_minute: int) -> tuple[float, float]:
    """(capacity, refill per second) such that capacity + 60 s of refill = the limit."""
    capacity = max(1.0, per_minute / 60)
    return capacity, max(per_minute - capacity, 0.0) / 60 or per_minute / 60


def estimate_tokens(prompt_chars: int, model: ModelConfig) -> int:
    return prompt_chars // 4 + (model.max_tokens or 256)


# -- Redis ---------------------------------------------------------------------------------

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + t[2] / 1000 "

_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local cap = tonumber(ARGV[1])
local w = redis.call('GET', KEYS[2])
if w then cap = math.min(cap, math.max(1, math.floor(tonumber(w)))) end
if redis.call('ZCARD', KEYS[1]) < cap then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[2]) * 4))
  return 1
end
return 0
"""
)

_RENEW = (
    _NOW
    + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[1]) * 4))
return 1
"""
)

_DECREASE = (
    _NOW
    + """
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local cur = redis.call('GET', KEYS[2])
if now - last < tonumber(ARGV[2]) then return cur end
local inflight = redis.call('ZCARD', KEYS[1])
local w = tonumber(cur or ARGV[1])
w = math.max(1, math.min(w, math.max(inflight, 1)) / 2)
redis.call('SET', KEYS[2], tostring(w), 'PX', ARGV[3])
redis.call('SET', KEYS[3], tostring(now), 'PX', ARGV[3])
return tostring(w)
"""
)

_INCREASE = """
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local w = tonumber(cur)
w = w + 1 / w
if w >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) return false end
redis.call('SET', KEYS[1], tostring(w), 'KEEPTTL')
return tostring(w)
"""

_TAKE = (
    _NOW
    + """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
tokens = math.min(cap, tokens + (now - ts) * rate)
local need = math.min(cost, cap)
local wait = 0
if tokens >= need then tokens = tokens - cost else wait = math.ceil((need - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return wait
"""
)

_SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBYFLOAT', KEYS[1], 'tokens', ARGV[1])
end
return 1
"""


class Slot:
    """One call's hold on its endpoint: report how it went, then release."""

    def __init__(self) -> None:
        self.rate_limited = False
        self.tokens: int | None = None

    def done(self, tokens: int | None) -> None:
        self.tokens = tokens

    def refused(self) -> None:
        """The provider answered 429: the window shrinks for everyone."""
        self.rate_limited = True


class FleetLimits:
    """The limits in Redis, shared by every process that uses the same Redis and prefix."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "evalbook:",
        lease_s: float = 30.0,
        cooldown_s: float = 1.0,
        window_ttl_s: float = 300.0,
    ) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:
            raise MissingExtraError("endpoint limits shared through Redis", "redis") from exc

        self.client: Any = aioredis.Redis.from_url(url, socket_timeout=10)
        self.prefix = prefix
        self.lease_ms = int(lease_s * 1000)
        self.cooldown_ms = int(cooldown_s * 1000)
        self.window_ttl_ms = int(window_ttl_s * 1000)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._renew = self.client.register_script(_RENEW)
        self._decrease = self.client.register_script(_DECREASE)
        self._increase = self.client.register_script(_INCREASE)
        self._take = self.client.register_script(_TAKE)
        self._settle = self.client.register_script(_SETTLE)
        self._held: dict[str, set[str]] = {}
        self._freed: dict[str, asyncio.Event] = {}
        self._renewer: asyncio.Task[None] | None = None

    def key(self, endpoint: str, what: str) -> str:
        return f"{self.prefix}limit:{endpoint}:{what}"

    # -- reading (tests, progress) -------------------------------------------------------

    async def in_flight(self, endpoint: str) -> int:
        now_ms = (await self.client.time())[0] * 1000
        return int(await self.client.zcount(self.key(endpoint, "slots"), now_ms, "+inf"))

    async def window(self, endpoint: str) -> float | None:
        raw = await self.client.get(self.key(endpoint, "window"))
        return None if raw is None else float(raw)

    # -- holding a slot ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def slot(self, limits: EndpointLimits, est_tokens: int) -> AsyncIterator[Slot]:
        await self._wait_rate(limits, est_tokens)
        lease = await self._take_lease(limits)
        slot = Slot()
        try:
            yield slot
        finally:
            await asyncio.shield(self._finish(limits, lease, slot, est_tokens))

    async def _wait_rate(self, limits: EndpointLimits, est_tokens: int) -> None:
        for what, per_minute, cost in (("rpm", limits.rpm, 1), ("tpm", limits.tpm, est_tokens)):
            if per_minute is None:
                continue
            capacity, rate = bucket_shape(per_minute)
            key = self.key(limits.endpoint, what)
            while wait_ms := int(await self._take(keys=[key], args=[capacity, rate, cost])):
                await asyncio.sleep(wait_ms / 1000 * (1 + random.random() / 4))

    async def _take_lease(self, limits: EndpointLimits) -> str:
        lease = uuid.uuid4().hex
        slots, window = self.key(limits.endpoint, "slots"), self.key(limits.endpoint, "window")
        freed = self._freed.setdefault(limits.endpoint, asyncio.Event())
        delay = 0.005
        while not await self._acquire(
            keys=[slots, window], args=[limits.cap, self.lease_ms, lease]
        ):
            # Woken at once when a slot of this process frees; otherwise polled, backing
            # off to 200 ms (the slot may free in another process).
            freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(freed.wait(), delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)
        self._held.setdefault(slots, set()).add(lease)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_loop(), name="evalbook-fleet-leases")
        return lease

    async def _finish(self, limits: EndpointLimits, lease: str, slot: Slot, est: int) -> None:
        slots = self.key(limits.endpoint, "slots")
        window = self.key(limits.endpoint, "window")
        self._held.get(slots, set()).discard(lease)
        pipe_ops = [self.client.zrem(slots, lease)]
        if slot.rate_limited:
            pipe_ops.append(
                self._decrease(
                    keys=[slots, window, self.key(limits.endpoint, "decreased")],
                    args=[limits.cap, self.cooldown_ms, self.window_ttl_ms],
                )
            )
        else:
            pipe_ops.append(self._increase(keys=[window], args=[limits.cap]))
        if limits.tpm is not None and slot.tokens is not None and slot.tokens != est:
            pipe_ops.append(
                self._settle(keys=[self.key(limits.endpoint, "tpm")], args=[est - slot.tokens])
            )
        await asyncio.gather(*pipe_ops)
        if (freed := self._freed.get(limits.endpoint)) is not None:
            freed.set()

    async def _renew_loop(self) -> None:
        while any(self._held.values()):
            await asyncio.sleep(self.lease_ms / 3000)
            for slots, leases in list(self._held.items()):
                if leases:
                    await self._renew(keys=[slots], args=[self.lease_ms, *leases])

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self.client.aclose()


class LocalLimits:
    """rpm / tpm for one process (no Redis): the same buckets, in memory. Connections are
    the runner's per-endpoint semaphore, sized by ``max_connections``."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    @contextlib.asynccontextmanager
    async def slot(self, limits: EndpointLimits, est_tokens: int) -> AsyncIterator[Slot]:
        for what, per_minute, cost in (("rpm", limits.rpm, 1), ("tpm", limits.tpm, est_tokens)):
            if per_minute is not None:
                await self._take((limits.endpoint, what), per_minute, cost)
        slot = Slot()
        yield slot
        if limits.tpm is not None and slot.tokens is not None:
            key = (limits.endpoint, "tpm")
            tokens, ts = self._buckets[key]
            self._buckets[key] = (tokens + est_tokens - slot.tokens, ts)

    async def _take(self, key: tuple[str, str], per_minute: int, cost: int) -> None:
        capacity, rate = bucket_shape(per_minute)
        while True:
            now = time.monotonic()
            tokens, ts = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - ts) * rate)
            need = min(cost, capacity)
            if tokens >= need:
                self._buckets[key] = (tokens - cost, now)
                return
            self._buckets[key] = (tokens, now)
            await asyncio.sleep((need - tokens) / rate)


_local: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LocalLimits] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def open_limits() -> AsyncIterator[FleetLimits | LocalLimits]:
    """A run's limiter: in Redis when ``EVALBOOK_REDIS_URL`` is set (its own client, closed
    with the run; the state is Redis's), else the loop's in-memory one (shared by every
    run of the process, so two runs share the endpoint's minute)."""
    url = os.environ.get("EVALBOOK_REDIS_URL")
    if not url:
        yield _local.setdefault(asyncio.get_running_loop(), LocalLimits())
        return
    limiter = FleetLimits(
        url,
        prefix=os.environ.get("EVALBOOK_REDIS_PREFIX") or "evalbook:",
        lease_s=float(os.environ.get("EVALBOOK_LIMIT_LEASE_S") or 30.0),
    )
    try:
        yield limiter
    finally:
        await asyncio.shield(limiter.aclose())
