"""The Hugging Face Inference API text-generation provider, over real HTTP to the local
test server's ``/models/MODEL`` route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import FatalProviderError, RateLimitError, TransientError
from evalbook.providers import GenerateRequest, create_provider
from evalbook.providers.huggingface import DEFAULT_BASE_URL, HuggingFaceProvider, prompt_text
from evalbook.testing import OpenAICompatibleTestServer, TestServerConfig, run_test_server_in_thread

from .conftest import RIGHT_KEY


def _config(server: OpenAICompatibleTestServer, **fields: Any) -> ModelConfig:
    return ModelConfig(
        provider="huggingface", name="org/tiny-gpt", base_url=server.root_url, **fields
    )


async def _generate(config: ModelConfig, *messages: Message) -> Any:
    provider = create_provider(config)
    try:
        await provider.start()
        return await provider.generate(GenerateRequest(messages=list(messages), config=config))
    finally:
        await provider.aclose()


def _user(text: str) -> Message:
    return Message(role="user", content=text)


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HF_TOKEN", "HF_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


async def test_generates_from_the_raw_prompt_with_its_parameters() -> None:
    with run_test_server_in_thread(TestServerConfig(record_bodies=True)) as server:
        config = _config(
            server,
            temperature=0.2,
            max_tokens=32,
            seed=7,
            stop=["\n\n"],
            system_prompt="You are terse.",
            params={"top_k": 5, "repetition_penalty": 1.1},
        )
        reply = await _generate(config, _user("What is 2+2? [[answer=4]]"))
        assert reply.text == "4"
        assert (reply.input_tokens, reply.output_tokens) == (None, None)  # the API gives none
        (body,) = server.bodies
    assert json.loads(body) == {
        "inputs": "You are terse.\n\nWhat is 2+2? [[answer=4]]",
        "parameters": {
            "return_full_text": False,
            "temperature": 0.2,
            "max_new_tokens": 32,
            "seed": 7,
            "stop": ["\n\n"],
            "top_k": 5,
            "repetition_penalty": 1.1,
        },
    }


async def test_the_full_text_when_params_ask_for_it(server: OpenAICompatibleTestServer) -> None:
    config = _config(server, params={"return_full_text": True})
    reply = await _generate(config, _user("Once upon a time"))
    assert reply.text == "Once upon a timeOnce upon a time"  # the prompt, then the echo


async def test_errors_are_classified(server: OpenAICompatibleTestServer) -> None:
    config = _config(server)
    with pytest.raises(TransientError, match="injected fault 503"):
        await _generate(config, _user("loading [[fail=503:1]]"))
    with pytest.raises(RateLimitError):
        await _generate(config, _user("busy [[fail=429:1]]"))
    with pytest.raises(FatalProviderError, match="400"):
        await _generate(config, _user("bad [[fail=400:1]]"))
    with pytest.raises(TransientError, match="malformed"):
        await _generate(config, _user("cut [[malformed:1]]"))


async def test_the_token_is_sent_from_hf_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with run_test_server_in_thread(TestServerConfig(required_api_key=RIGHT_KEY)) as server:
        with pytest.raises(FatalProviderError, match="401"):
            await _generate(_config(server), _user("hi"))
        monkeypatch.setenv("HF_API_TOKEN", RIGHT_KEY)
        assert (await _generate(_config(server), _user("hi"))).text == "hi"
        monkeypatch.setenv("MY_HF", RIGHT_KEY)
        monkeypatch.setenv("HF_API_TOKEN", "wrong")
        assert (await _generate(_config(server, api_key_env="MY_HF"), _user("hi"))).text == "hi"


def test_the_default_endpoint_and_the_prompt_text() -> None:
    provider = create_provider(ModelConfig(provider="huggingface", name="gpt2"))
    assert isinstance(provider, HuggingFaceProvider)
    assert provider.base_url == DEFAULT_BASE_URL
    assert provider._client().url == f"{DEFAULT_BASE_URL}/models/gpt2"
    messages = [
        Message(role="system", content="Be brief."),
        _user("Q1"),
        Message(role="assistant", content="A1"),
        _user("Q2"),
    ]
    # a system message of the prompt wins over the config's system prompt
    assert prompt_text(messages, "ignored") == "Be brief.\n\nQ1\n\nA1\n\nQ2"
