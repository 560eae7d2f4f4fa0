"""The OpenAI-compatible providers, over real HTTP to the local test server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, RateLimitError, TransientError
from evalbook.providers import GenerateRequest, create_provider
from evalbook.providers.openai_compat import (
    OllamaProvider,
    OpenAICompatibleProvider,
    OpenAIProvider,
    VLLMProvider,
    openai_messages,
)
from evalbook.testing import OpenAICompatibleTestServer

WRONG_KEY = "sk-wrong-secret-0123456789"


def _config(server: OpenAICompatibleTestServer, **fields: Any) -> ModelConfig:
    fields.setdefault("provider", "openai")
    return ModelConfig(name="test-model", base_url=server.base_url, **fields)


@pytest.fixture
def make_config(transport: str) -> Any:
    """``_config`` for the transport under test (``wire``: the openai-compatible provider)."""

    def make(server: OpenAICompatibleTestServer, **fields: Any) -> ModelConfig:
        if transport == "wire":
            fields.setdefault("provider", "openai-compatible")
        return _config(server, **fields)

    return make


def _request(config: ModelConfig, text: str) -> GenerateRequest:
    return GenerateRequest(messages=[Message(role="user", content=text)], config=config)


async def _generate(config: ModelConfig, text: str) -> Any:
    provider = create_provider(config)
    try:
        await provider.start()
        return await provider.generate(_request(config, text))
    finally:
        await provider.aclose()


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.fixture
def fault(fault_server: OpenAICompatibleTestServer) -> OpenAICompatibleTestServer:
    fault_server.reset()
    return fault_server


async def test_happy_path_records_served_model_fingerprint_and_tokens(
    server: OpenAICompatibleTestServer, make_config: Any
) -> None:
    response = await _generate(make_config(server), "What is 2+2? [[answer=4]]")
    assert response.text == "4"
    assert response.served_model == "test-model"
    assert response.system_fingerprint == "fp_evalbook_test"
    assert response.input_tokens == 4  # words of the prompt, directive included
    assert response.output_tokens == 1
    assert response.finish_reason == "stop"


async def test_echo_through_the_compatible_provider_needs_no_key(
    server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    response = await _generate(_config(server, provider="openai-compatible"), "  hello there ")
    assert response.text == "hello there"


async def test_429_is_a_rate_limit_with_retry_after(
    fault: OpenAICompatibleTestServer, make_config: Any
) -> None:
    with pytest.raises(RateLimitError) as info:
        await _generate(make_config(fault), "hi [[fail=429:1]]")
    assert info.value.status_code == 429
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (400, FatalProviderError),
        (404, FatalProviderError),
        (422, FatalProviderError),
    ],
)
async def test_status_codes_are_classified(
    fault: OpenAICompatibleTestServer, make_config: Any, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        await _generate(make_config(fault), f"hi [[fail={status}:1]]")
    assert f"HTTP {status}" in str(info.value)
    assert "injected fault" in str(info.value)


@pytest.mark.parametrize("directive", ["[[reset:1]]", "[[malformed:1]]"])
async def test_reset_and_malformed_replies_are_transient(
    fault: OpenAICompatibleTestServer, make_config: Any, directive: str
) -> None:
    with pytest.raises(TransientError):
        await _generate(make_config(fault), f"hi {directive}")


async def test_a_hung_server_times_out_as_transient(
    fault: OpenAICompatibleTestServer, make_config: Any
) -> None:
    with pytest.raises(TransientError, match="timeout_s"):
        await _generate(make_config(fault, timeout_s=0.3), "hi [[hang:1]]")


async def test_the_same_request_succeeds_after_its_faults(
    fault: OpenAICompatibleTestServer,
    make_config: Any,
) -> None:
    config = make_config(fault)
    provider = create_provider(config)
    try:
        with pytest.raises(TransientError):
            await provider.generate(_request(config, "x [[fail=500:1]]"))
        response = await provider.generate(_request(config, "x [[fail=500:1]]"))
    finally:
        await provider.aclose()
    assert response.text == "x [[fail=500:1]]"


async def test_wrong_key_is_fatal_and_never_echoed(
    keyed_server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch, make_config: Any
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", WRONG_KEY)
    with pytest.raises(FatalProviderError) as info:
        await _generate(make_config(keyed_server), "hi")
    assert info.value.status_code == 401
    assert "invalid or missing API key" in str(info.value)
    assert WRONG_KEY not in str(info.value)
    assert WRONG_KEY not in repr(info.value.args)


async def test_right_key_from_a_named_variable(
    keyed_server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GATEWAY_KEY", str(keyed_server.config.required_api_key))
    config = _config(keyed_server, provider="openai-compatible", api_key_env="MY_GATEWAY_KEY")
    assert (await _generate(config, "hi")).text == "hi"


def test_missing_key_names_the_variable(
    server: OpenAICompatibleTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        create_provider(_config(server))
    with pytest.raises(ConfigError, match="TEAM_KEY"):
        create_provider(_config(server, provider="openai-compatible", api_key_env="TEAM_KEY"))


def test_compatible_provider_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        create_provider(ModelConfig(provider="openai-compatible", name="m"))


def test_builtin_names_map_to_their_classes() -> None:
    ollama = create_provider(ModelConfig(provider="ollama", name="llama3"))
    vllm = create_provider(ModelConfig(provider="vllm", name="m"))
    assert isinstance(ollama, OllamaProvider)
    assert ollama.base_url == "http://127.0.0.1:11434/v1"
    assert isinstance(vllm, VLLMProvider)
    assert vllm.base_url == "http://127.0.0.1:8000/v1"
    assert ollama.endpoint != vllm.endpoint
    openai = create_provider(ModelConfig(provider="openai", name="gpt-4o-mini"))
    assert isinstance(openai, OpenAIProvider)
    assert openai.base_url is None  # the SDK's default endpoint
    compat = ModelConfig(provider="openai-compatible", name="m", base_url="http://h/v1")
    assert type(create_provider(compat)) is OpenAICompatibleProvider


def test_request_body_carries_generation_parameters() -> None:
    config = ModelConfig(
        provider="openai",
        name="gpt-4o-mini",
        temperature=0.2,
        max_tokens=64,
        seed=7,
        stop=["\n\n"],
        system_prompt="Be brief.",
        params={"top_p": 0.5},
    )
    body = create_provider(config).request_body(_request(config, "hi"))  # type: ignore[attr-defined]
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.2,
        "max_completion_tokens": 64,
        "seed": 7,
        "stop": ["\n\n"],
        "top_p": 0.5,
    }
    compat = config.model_copy(update={"provider": "vllm"})
    assert create_provider(compat).request_body(_request(compat, "hi"))["max_tokens"] == 64  # type: ignore[attr-defined]


def test_messages_keep_their_own_system_turn_and_inline_images() -> None:
    image = ImagePart(media_type="image/png", data="iVBORw0=", sha256="0" * 64)
    messages = [
        Message(role="system", content="From the template."),
        Message(role="user", content=[TextPart(text="What is this?"), image]),
    ]
    assert openai_messages(messages, "ignored when a system turn exists") == [
        {"role": "system", "content": "From the template."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0="}},
            ],
        },
    ]


async def test_many_concurrent_calls_share_one_client(
    server: OpenAICompatibleTestServer, make_config: Any
) -> None:
    config = _config(server, max_connections=64)
    provider = create_provider(config)
    try:
        replies = await asyncio.gather(
            *(provider.generate(_request(config, f"q{i}")) for i in range(200))
        )
    finally:
        await provider.aclose()
    assert [r.text for r in replies] == [f"q{i}" for i in range(200)]
