"""The response cache: versioned keys, batched lookups, single flight, never an error.

Key = sha256 of canonical JSON of (prompt scope, provider, model, generation parameters,
rendered messages, epoch when sampling), under a version prefix. Transport knobs (timeout,
connections, API key variable) are not part of it. Identical items inside one run are
answered once: the first asks the model, the others await its answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import OrderedDict
from typing import Any

from evalbook.core.identity import IDENTITY_VERSION, canonical_json, encode_str
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
    return CacheKeys(scope, config, identity).key(messages, epoch, case)


class CacheKeys:
    """The cache keys of one run's items: :func:`cache_key`, with what every key of the
    run shares (the model's identity, the scope) serialised once, not once per item.

    The key is ``content_hash(CACHE_KEY_VERSION, body)`` of the body
    ``{case?, epoch, messages, model, scope}``; its canonical JSON (sorted keys, no
    whitespace) is written here piece by piece in that order, which gives the same text.
    """

    __slots__ = ("_identity", "_sampling", "_scope", "_tail")

    def __init__(
        self, scope: str, config: ModelConfig, identity: dict[str, Any] | None = None
    ) -> None:
        self._identity = config.identity() if identity is None else identity
        self._scope = scope
        self._sampling = is_sampling(config)
        self._tail: str | None = None

    def key(
        self, messages: list[Message], epoch: int, case: tuple[str, dict[str, Any]] | None = None
    ) -> str:
        if self._tail is None:  # on first use: a value that cannot be hashed fails there
            model, scope = canonical_json(self._identity), canonical_json(self._scope)
            self._tail = f',"model":{model},"scope":{scope}}}'
        head = "{"
        if case is not None:
            head += f'"case":{canonical_json({"id": case[0], "vars": case[1]})},'
        text = (
            f'{head}"epoch":{str(epoch) if self._sampling else "null"},'
            f'"messages":{_messages_json(messages)}{self._tail}'
        )
        return hashlib.sha256(_KEY_PREFIX + text.encode()).hexdigest()


def _messages_json(messages: list[Message]) -> str:
    """``canonical_json([m.model_dump(mode="json") for m in messages])``; messages of
    text alone written directly, in the same order of keys (a dump and a generic encoding
    per item were a fifth of rendering a cached item)."""
    parts = []
    for m in messages:
        if type(m.content) is not str:
            return canonical_json([m.model_dump(mode="json") for m in messages])
        parts.append(f'{{"content":{encode_str(m.content)},"role":{encode_str(m.role)}}}')
    return f"[{','.join(parts)}]"


_KEY_PREFIX = f"{IDENTITY_VERSION}:{CACHE_KEY_VERSION}:".encode()


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
    elif data.keys() == _RESPONSE_FIELDS:
        # Every field, as this release writes them: set without the frozen dataclass's
        # __init__ (an object.__setattr__ per field, per cache hit). An entry an older
        # release wrote lacks the newer fields: the __init__ gives their defaults.
        response = object.__new__(GenerateResponse)
        response.__dict__.update(data)
        return response
    return GenerateResponse(**data)


_RESPONSE_FIELDS = {f.name for f in dataclasses.fields(GenerateResponse)}


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
