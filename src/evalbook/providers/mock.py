"""A model that answers from rules, for tests and dry runs, through the normal path.

Why a provider rather than a test double: the executor, retries, cache, cost and storage
are exercised exactly as with a real model (``--model mock:echo``), with no network and no
weights. Models:

- ``echo``: the last user message's text.
- ``constant``: ``params.text``.
- ``scripted``: ``params.answers`` as a mapping *substring of the last user message →
  answer* (first match wins, else ``params.default``, else echo), or a list answered in
  call order, cycling.
- ``fail``: ``params.kind`` (``rate_limit`` | ``transient`` | ``fatal``) for the first
  ``params.times`` (default 1) calls of each distinct prompt, then echo.

``params.latency_ms`` sleeps before answering. Tokens are word counts; the price is zero.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import (
    ConfigError,
    FatalProviderError,
    ProviderError,
    RateLimitError,
    TransientError,
    UnknownNameError,
)
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider

__all__ = ["MOCK_MODELS", "MockProvider"]

MOCK_MODELS = ("constant", "echo", "fail", "scripted")

_FAILURES: dict[str, Callable[[str], ProviderError]] = {
    "rate_limit": lambda m: RateLimitError(m, status_code=429, retry_after=0.0),
    "transient": lambda m: TransientError(m, status_code=503),
    "fatal": lambda m: FatalProviderError(m, status_code=400),
}


class MockProvider(Provider):
    """Rule-based answers; see the module docstring for the model names and params."""

    name = "mock"
    default_max_connections = 1000
    supports_images = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        if config.name not in MOCK_MODELS:
            raise UnknownNameError("mock model", config.name, list(MOCK_MODELS))
        params = config.params
        self._latency = float(params.get("latency_ms", 0)) / 1000.0
        self._answer: Callable[[str], str] = getattr(self, f"_answer_{config.name}")
        self._cycle: Iterator[str] | None = None
        self._failures: Counter[str] = Counter()
        if config.name == "constant" and not isinstance(params.get("text"), str):
            raise ConfigError("mock:constant needs params.text (a string)")
        if config.name == "scripted":
            answers = params.get("answers")
            if isinstance(answers, list) and answers:
                self._cycle = itertools.cycle([str(a) for a in answers])
            elif not isinstance(answers, Mapping):
                raise ConfigError(
                    "mock:scripted needs params.answers: a mapping (substring → answer)"
                    " or a non-empty list"
                )
        if config.name == "fail" and params.get("kind", "transient") not in _FAILURES:
            raise UnknownNameError("mock failure kind", str(params.get("kind")), list(_FAILURES))

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        if self._latency:
            await asyncio.sleep(self._latency)
        prompt = _last_user_text(request.messages)
        text = self._answer(prompt)
        return GenerateResponse(
            text=text,
            served_model=f"mock-{self.config.name}",
            system_fingerprint="mock",
            input_tokens=sum(_words(m.text) for m in request.messages),
            output_tokens=_words(text),
            finish_reason="stop",
        )

    def _answer_echo(self, prompt: str) -> str:
        return prompt

    def _answer_constant(self, prompt: str) -> str:
        return str(self.config.params["text"])

    def _answer_scripted(self, prompt: str) -> str:
        if self._cycle is not None:
            return next(self._cycle)
        answers: Mapping[str, Any] = self.config.params["answers"]
        for needle, answer in answers.items():
            if needle in prompt:
                return str(answer)
        default = self.config.params.get("default")
        return prompt if default is None else str(default)

    def _answer_fail(self, prompt: str) -> str:
        kind = self.config.params.get("kind", "transient")
        times = int(self.config.params.get("times", 1))
        self._failures[prompt] += 1
        if self._failures[prompt] <= times:
            n = self._failures[prompt]
            raise _FAILURES[kind](f"mock: injected {kind} failure {n} of {times}")
        return prompt


def _last_user_text(messages: list[Message]) -> str:
    return next((m.text for m in reversed(messages) if m.role == "user"), "")


def _words(text: str) -> int:
    return len(text.split())
