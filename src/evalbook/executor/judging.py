"""The judge client: judges' model calls on the same path as the run's own calls.

A judge call is a model call like any other: it is retried by class (429 / transient /
fatal), limited by the per-endpoint connection semaphore shared with every run in the
process and by the judge model's ``max_connections`` / ``rpm`` / ``tpm`` across the
fleet (the same Redis limits and 429 window as the run's own calls), answered from the
response cache when the same judge saw the same prompt before (scoped by the judge
template's ``name@version``, so a new template never reads an old template's verdicts),
and single-flight inside a run. Providers are created once
per judge model and closed with the run. What the judges spent is summed here, apart
from the system under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from evalbook.core.messages import Message, messages_text
from evalbook.core.model_config import ModelConfig
from evalbook.errors import RateLimitError, TransientError
from evalbook.executor.cache import SingleFlight, cache_key, response_from_json, response_to_json
from evalbook.executor.fleet_limits import (
    EndpointLimits,
    FleetLimits,
    LocalLimits,
    estimate_tokens,
    open_limits,
)
from evalbook.executor.limits import endpoint_limit
from evalbook.executor.retry import AttemptsFailed, RetryPolicy, call_with_retries
from evalbook.executor.store_io import StoreIO
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider, cost_usd
from evalbook.providers.registry import create_provider
from evalbook.scorers.base import JudgeReply

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["JudgeClient", "closing_after"]

SCOPE_PREFIX = "judge:"


class JudgeClient:
    """Callable as :class:`evalbook.scorers.base.JudgeCall`; one per run (or rescore)."""

    def __init__(
        self, store: Store, io: StoreIO, retry: RetryPolicy, *, use_cache: bool = True
    ) -> None:
        self.store = store
        self.io = io
        self.retry = retry
        self.use_cache = use_cache
        self.flight = SingleFlight()
        self._providers: dict[str, Provider] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self.calls = 0
        #: The fleet limits of judge models that set some, opened at the first such call.
        self._limiter: FleetLimits | LocalLimits | None = None
        self._limits_open = contextlib.AsyncExitStack()
        self._opening = asyncio.Lock()

    async def __call__(
        self, config: ModelConfig, messages: list[Message], *, scope: str
    ) -> JudgeReply:
        key = cache_key(SCOPE_PREFIX + scope, config, messages, 0) if self.use_cache else None
        if key is not None:
            hit = await self._cached(key)
            if hit is not None:
                return _reply(config, hit, cost=0.0, cached=True)
            self.flight.begin(key)
        provider = await self._provider(config)
        try:
            (response, _), _attempts = await call_with_retries(
                lambda: self._call(provider, config, messages), self.retry
            )
        except AttemptsFailed as failed:
            if key is not None:
                self.flight.finish(key, None)
            raise failed.error from None
        except BaseException:
            if key is not None:
                self.flight.finish(key, None)
            raise
        self.calls += 1
        if key is not None:
            self.flight.finish(key, response)
            entry = {
                "key": key,
                "scope": SCOPE_PREFIX + scope,
                "provider": config.provider,
                "model": config.name,
                "response": response_to_json(response),
            }
            await self.io.call(self.store.cache_put_many, [entry])
        price = provider.price()
        cost = cost_usd(price, response.input_tokens, response.output_tokens)
        return _reply(config, response, cost=cost, cached=False)

    async def _cached(self, key: str) -> GenerateResponse | None:
        """From this run's flight (awaiting a leader in progress), else the database."""
        hit = await self._from_flight(key)
        if hit is not None:
            return hit
        stored = await self.io.call(self.store.cache_get_many, [key])
        if key in stored:
            return response_from_json(stored[key])
        return await self._from_flight(key)  # a leader may have started meanwhile

    async def _from_flight(self, key: str) -> GenerateResponse | None:
        hit = self.flight.lookup(key)
        if hit is None or isinstance(hit, GenerateResponse):
            return hit
        with contextlib.suppress(asyncio.CancelledError):
            return await asyncio.shield(hit)
        # The leader failed (errors are never shared): ask ourselves, unless we were
        # the ones cancelled.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        return None

    async def _provider(self, config: ModelConfig) -> Provider:
        key = config.hash + (config.api_key_env or "")
        provider = self._providers.get(key)
        if provider is not None:
            return provider
        lock = self._starting.setdefault(key, asyncio.Lock())
        async with lock:
            provider = self._providers.get(key)
            if provider is None:
                provider = create_provider(config)
                # The local model's weights may have to be fetched first (a thread: it
                # blocks); then it loads.
                await asyncio.to_thread(provider.prepare)
                await provider.start()
                self._providers[key] = provider
        return provider

    async def _call(
        self, provider: Provider, config: ModelConfig, messages: list[Message]
    ) -> tuple[GenerateResponse, float]:
        request = GenerateRequest(messages=messages, config=config)
        limits = EndpointLimits.of(provider.endpoint, config)
        async with endpoint_limit(provider.endpoint, provider.max_connections):
            if limits is None:
                return await self._generate(provider, request)
            limiter = await self._open_limiter()
            est = estimate_tokens(len(messages_text(messages)), config)
            async with limiter.slot(limits, est) as slot:
                try:
                    response, ms = await self._generate(provider, request)
                except RateLimitError:
                    slot.refused()  # the judge's window shrinks for the whole fleet
                    raise
                used = (response.input_tokens or 0) + (response.output_tokens or 0)
                slot.done(used or None)
                return response, ms

    async def _generate(
        self, provider: Provider, request: GenerateRequest
    ) -> tuple[GenerateResponse, float]:
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(request.config.timeout_s):
                response = await provider.generate(request)
        except TimeoutError:
            raise TransientError(
                f"judge request timed out after {request.config.timeout_s:g} s"
            ) from None
        return response, (time.perf_counter() - t0) * 1000

    async def _open_limiter(self) -> FleetLimits | LocalLimits:
        async with self._opening:
            if self._limiter is None:
                self._limiter = await self._limits_open.enter_async_context(open_limits())
            return self._limiter

    async def aclose(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        try:
            for provider in providers:
                await provider.aclose()
        finally:
            self._limiter = None
            await self._limits_open.aclose()


def _reply(
    config: ModelConfig, response: GenerateResponse, *, cost: float | None, cached: bool
) -> JudgeReply:
    return JudgeReply(
        text=response.text,
        model=config.spec,
        input_tokens=None if cached else response.input_tokens,
        output_tokens=None if cached else response.output_tokens,
        cost_usd=cost,
        cached=cached,
    )


T = TypeVar("T")


async def closing_after(work: Awaitable[T], judge: JudgeClient, io: StoreIO) -> T:
    """Await ``work`` (a run or a rescore), then close its judges' providers and its store
    thread, however it ended (the close is shielded from a cancel)."""
    try:
        return await work
    finally:
        try:
            await asyncio.shield(judge.aclose())
        finally:
            io.close()
