"""The Anthropic provider, over real HTTP to the test server's ``/v1/messages``."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, RateLimitError, TransientError
from evalbook.providers import GenerateRequest, GenerateResponse, create_provider
from evalbook.providers.anthropic import AnthropicProvider, anthropic_messages
from evalbook.testing import OpenAICompatibleTestServer

WRONG_KEY = "sk-ant-wrong-secret-0123456789"


def _config(server: OpenAICompatibleTestServer, **fields: Any) -> ModelConfig:
    return ModelConfig(provider="anthropic", name="claude-test", base_url=server.root_url, **fields)


def _request(config: ModelConfig, text: str) -> GenerateRequest:
    return GenerateRequest(messages=[Message(role="user", content=text)], config=config)


async def _generate(config: ModelConfig, text: str) -> GenerateResponse:
    provider = create_provider(config)
    try:
        return await provider.generate(_request(config, text))
    finally:
        await provider.aclose()


@pytest.fixture(autouse=True)
def _anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")


@pytest.fixture
def fault(fault_server: OpenAICompatibleTestServer, transport: str) -> OpenAICompatibleTestServer:
    fault_server.reset()
    return fault_server


async def test_happy_path_records_served_model_and_tokens(
    server: OpenAICompatibleTestServer, transport: str
) -> None:
    response = await _generate(_config(server), "Capital of France? [[answer=Paris]]")
    assert response.text == "Paris"
    assert response.served_model == "claude-test"
    assert response.input_tokens == 4
    assert response.output_tokens == 1
    assert response.finish_reason == "end_turn"
    stats = server.stats()
    assert stats["requests"] == 1
    assert stats["by_status"] == {"200": 1}


async def test_an_openai_style_base_url_ending_in_v1_also_works(
    server: OpenAICompatibleTestServer,
) -> None:
    config = _config(server).model_copy(update={"base_url": server.base_url})
    assert (await _generate(config, "hello")).text == "hello"


async def test_429_is_a_rate_limit_with_retry_after(fault: OpenAICompatibleTestServer) -> None:
    with pytest.raises(RateLimitError) as info:
        await _generate(_config(fault), "hi [[fail=429:1]]")
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (529, TransientError),
        (400, FatalProviderError),
        (403, FatalProviderError),
    ],
)
async def test_status_codes_are_classified(
    fault: OpenAICompatibleTestServer, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        await _generate(_config(fault), f"hi [[fail={status}:1]]")
    assert f"HTTP {status}: injected fault {status}" in str(info.value)


@pytest.mark.parametrize("directive", ["[[reset:1]]", "[[malformed:1]]"])
async def test_reset_and_malformed_replies_are_transient(
    fault: OpenAICompatibleTestServer, directive: str
) -> None:
    with pytest.raises(TransientError):
        await _generate(_config(fault), f"hi {directive}")


async def test_a_hung_server_times_out_as_transient(fault: OpenAICompatibleTestServer) -> None:
    with pytest.raises(TransientError, match="timeout_s"):
        await _generate(_config(fault, timeout_s=0.3), "hi [[hang:1]]")


async def test_wrong_key_is_fatal_and_never_echoed(
    keyed_server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", WRONG_KEY)
    with pytest.raises(FatalProviderError) as info:
        await _generate(_config(keyed_server), "hi")
    assert info.value.status_code == 401
    assert "invalid or missing API key" in str(info.value)
    assert WRONG_KEY not in str(info.value)


async def test_right_key_passes(
    keyed_server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", str(keyed_server.config.required_api_key))
    assert (await _generate(_config(keyed_server), "hi")).text == "hi"


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        create_provider(ModelConfig(provider="anthropic", name="claude-sonnet-4"))


def test_request_body_moves_system_out_and_defaults_max_tokens() -> None:
    config = ModelConfig(
        provider="anthropic",
        name="claude-3-5-haiku-latest",
        max_tokens=None,
        system_prompt="Be brief.",
        stop=["END"],
        seed=3,
    )
    provider = create_provider(config)
    assert isinstance(provider, AnthropicProvider)
    body = provider.request_body(_request(config, "hi"))
    assert body == {
        "model": "claude-3-5-haiku-latest",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1024,
        "system": "Be brief.",
        "temperature": 0.0,
        "stop_sequences": ["END"],
    }


def test_messages_shape_with_system_turns_and_images() -> None:
    image = ImagePart(media_type="image/jpeg", data="/9j/4AAQ", sha256="0" * 64)
    system, messages = anthropic_messages(
        [
            Message(role="system", content="Rule one."),
            Message(role="system", content="Rule two."),
            Message(role="user", content=[TextPart(text="Describe."), image]),
        ],
        "not used: the messages carry system turns",
    )
    assert system == "Rule one.\n\nRule two."
    assert messages == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe."},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
                },
            ],
        }
    ]
