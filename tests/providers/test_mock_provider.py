"""The mock provider: rule-based answers through the normal provider path."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import (
    ConfigError,
    FatalProviderError,
    RateLimitError,
    TransientError,
    UnknownNameError,
)
from evalbook.providers import GenerateRequest, Provider, create_provider
from evalbook.providers.base import cost_usd


def _mock(name: str, **params: Any) -> Provider:
    return create_provider(ModelConfig(provider="mock", name=name, params=params))


async def _ask(provider: Provider, text: str) -> str:
    request = GenerateRequest(messages=[Message(role="user", content=text)], config=provider.config)
    return (await provider.generate(request)).text


async def test_echo_answers_the_last_user_message_with_word_counts() -> None:
    provider = _mock("echo")
    request = GenerateRequest(
        messages=[
            Message(role="system", content="Be nice."),
            Message(role="user", content="one two three"),
        ],
        config=provider.config,
    )
    response = await provider.generate(request)
    assert response.text == "one two three"
    assert response.served_model == "mock-echo"
    assert (response.input_tokens, response.output_tokens) == (5, 3)
    price = provider.price()
    assert price is not None
    assert cost_usd(price, response.input_tokens, response.output_tokens) == 0.0


async def test_constant_and_its_missing_text() -> None:
    assert await _ask(_mock("constant", text="42"), "anything") == "42"
    with pytest.raises(ConfigError, match=r"params\.text"):
        _mock("constant")


async def test_scripted_mapping_first_match_then_default() -> None:
    provider = _mock("scripted", answers={"capital": "Paris", "France": "no"}, default="?")
    assert await _ask(provider, "The capital of France?") == "Paris"
    assert await _ask(provider, "Something else") == "?"
    assert await _ask(_mock("scripted", answers={"x": "y"}), "no match") == "no match"


async def test_scripted_list_cycles_in_call_order() -> None:
    provider = _mock("scripted", answers=["a", "b"])
    assert [await _ask(provider, "q") for _ in range(3)] == ["a", "b", "a"]
    with pytest.raises(ConfigError, match=r"params\.answers"):
        _mock("scripted")


@pytest.mark.parametrize(
    ("kind", "error"),
    [("rate_limit", RateLimitError), ("transient", TransientError), ("fatal", FatalProviderError)],
)
async def test_fail_fails_the_first_calls_of_each_prompt(kind: str, error: type[Exception]) -> None:
    provider = _mock("fail", kind=kind, times=2)
    for _ in range(2):
        with pytest.raises(error):
            await _ask(provider, "p1")
    assert await _ask(provider, "p1") == "p1"
    with pytest.raises(error):
        await _ask(provider, "p2")


async def test_latency_is_slept() -> None:
    import time

    start = time.perf_counter()
    await _ask(_mock("echo", latency_ms=30), "x")
    assert time.perf_counter() - start >= 0.025


def test_unknown_mock_model_and_failure_kind_suggest() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'echo'"):
        _mock("ecko")
    with pytest.raises(UnknownNameError, match="rate_limit"):
        _mock("fail", kind="rate-limit")
