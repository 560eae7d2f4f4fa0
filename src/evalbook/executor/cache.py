"""The response cache: versioned keys, batched lookups, single flight, never an error.

Key = sha256 of canonical JSON of (prompt scope, provider, model, generation parameters,
rendered messages, epoch when sampling), under a version prefix. Transport knobs (timeout,
connections, API key variable) are not part of it. Identical items inside one run are
answered once: the first asks the model, the others await its answer.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from evalbook.core.identity import content_hash
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import ProviderEvidence
from evalbook.providers.base import GenerateResponse

CACHE_KEY_VERSION = "response-cache/1"


def is_sampling(config: ModelConfig) -> bool:
    """Whether repeated calls may differ (then each epoch gets its own cache entry)."""
    return config.temperature is None or config.temperature > 0


def cache_key(
    scope: str,
    config: ModelConfig,
    messages: list[Message],
    epoch: int,
    case: tuple[str, dict[str, Any]] | None = None,
    identity: dict[str, Any] | None = None,
) -> str:
    """``case`` (id, variables) joins the key for providers whose answers may depend on
    it beyond the messages (user code: ``Provider.reads_case``). ``identity`` is the
    provider's :meth:`~evalbook.providers.base.Provider.answer_identity` (default: the
    config's identity)."""
    identity = config.identity() if identity is None else identity
    body: dict[str, Any] = {
        "scope": scope,
        "model": identity,
        "messages": [m.model_dump(mode="json") for m in messages],
        "epoch": epoch if is_sampling(config) else None,
    }
    if case is not None:
        body["case"] = {"id": case[0], "vars": case[1]}
    return content_hash(CACHE_KEY_VERSION, body)


def response_to_json(response: GenerateResponse) -> dict[str, Any]:
    # Shallow on purpose: dataclasses.asdict deep-copies every value, a hot-path cost.
    data = dict(response.__dict__)
    if response.evidence is not None:  # the blobs are referenced by hash, stored once
        data["evidence"] = response.evidence.model_dump(mode="json", exclude_none=True)
    return data


def response_from_json(data: dict[str, Any]) -> GenerateResponse:
    evidence = data.get("evidence")
    if isinstance(evidence, dict):
        data = {**data, "evidence": ProviderEvidence.model_validate(evidence)}
    return GenerateResponse(**data)


class SingleFlight:
    """Within one run: identical keys in flight share one call; recent answers are kept
    (a bounded LRU, so memory stays flat on 100k-case runs; older duplicates are found by
    the batched database lookup instead)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.known: OrderedDict[str, GenerateResponse] = OrderedDict()
        self.capacity = capacity
        self._inflight: dict[str, asyncio.Future[GenerateResponse]] = {}

    def lookup(self, key: str) -> GenerateResponse | asyncio.Future[GenerateResponse] | None:
        hit = self.known.get(key)
        if hit is not None:
            return hit
        return self._inflight.get(key)

    def begin(self, key: str) -> None:
        self._inflight[key] = asyncio.get_running_loop().create_future()

    def finish(self, key: str, response: GenerateResponse | None) -> None:
        """Publish the leader's answer; ``None`` (an error) is never cached: waiters retry."""
        future = self._inflight.pop(key, None)
        if response is not None:
            self.known[key] = response
            if len(self.known) > self.capacity:
                self.known.popitem(last=False)
        if future is not None and not future.done():
            if response is None:
                future.cancel()
            else:
                future.set_result(response)
