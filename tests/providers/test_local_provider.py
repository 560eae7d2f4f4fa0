"""The embedded llama.cpp provider: config checks (fast) and one real generation (model)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, TransientError
from evalbook.providers import GenerateRequest, create_provider
from evalbook.providers.local import DEFAULT_SEED, LocalProvider, _Loaded


def _model_home() -> Path:
    """Shared across test runs so the 93 MB file is downloaded once."""
    configured = os.environ.get("EVALBOOK_TEST_MODEL_HOME")
    home = Path(configured) if configured else Path.home() / ".cache" / "evalbook-test-home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def test_model_name_must_be_the_bundled_one_or_a_gguf_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smollm2-135m"):
        create_provider(ModelConfig(provider="local", name="llama-70b"))
    with pytest.raises(ConfigError, match="does not exist"):
        create_provider(ModelConfig(provider="local", name=str(tmp_path / "missing.gguf")))


async def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    provider = create_provider(ModelConfig(provider="local", name=str(fake)))
    with pytest.raises(ConfigError, match="not a GGUF file"):
        await provider.start()


async def test_images_are_refused_before_loading(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF")
    config = ModelConfig(provider="local", name=str(fake))
    image = ImagePart(media_type="image/png", data="AAAA", sha256="0" * 64)
    request = GenerateRequest(
        messages=[Message(role="user", content=[TextPart(text="what?"), image])], config=config
    )
    with pytest.raises(FatalProviderError, match="images"):
        await create_provider(config).generate(request)


def test_defaults() -> None:
    provider = create_provider(ModelConfig(provider="local", name="smollm2-135m"))
    assert isinstance(provider, LocalProvider)
    assert provider.max_connections == 1
    assert provider.seed == DEFAULT_SEED
    price = provider.price()
    assert price is not None
    assert price.input_per_mtok == price.output_per_mtok == 0.0


@pytest.mark.model
@pytest.mark.slow
async def test_one_real_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(_model_home()))
    config = ModelConfig(provider="local", name="smollm2-135m", max_tokens=16)
    provider = create_provider(config)
    await provider.start()
    request = GenerateRequest(
        messages=[Message(role="user", content="What is the capital of France?")], config=config
    )
    first = await provider.generate(request)
    again = await provider.generate(request)
    await provider.aclose()
    assert first.text.strip()
    assert first.input_tokens is not None
    assert first.input_tokens > 5
    assert first.output_tokens is not None
    assert 0 < first.output_tokens <= 16
    assert first.served_model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert first.system_fingerprint is not None
    assert first.system_fingerprint.endswith(f"seed={DEFAULT_SEED}")
    assert first.finish_reason in {"stop", "length"}
    assert again.text == first.text  # temperature 0 with a fixed seed is reproducible


class _FakeServer:
    """Stands in for xllamacpp.Server: replies with a canned dict or raises."""

    def __init__(self, reply: object) -> None:
        self.reply = reply
        self.payloads: list[dict[str, object]] = []

    def handle_chat_completions(self, payload: dict[str, object]) -> object:
        self.payloads.append(payload)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            {"error": {"code": 400, "message": "exceeds the context size"}},
            FatalProviderError,
            "context",
        ),
        ({"error": {"code": 503, "message": "loading model"}}, TransientError, "loading"),
        (ValueError("Expected 'messages' to be an array"), FatalProviderError, "array"),
        ({"choices": []}, TransientError, "malformed"),
    ],
)
async def test_llama_cpp_errors_are_classified(
    tmp_path: Path, reply: object, error: type[Exception], message: str
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF")
    provider = create_provider(ModelConfig(provider="local", name=str(fake), seed=5))
    assert isinstance(provider, LocalProvider)
    server = _FakeServer(reply)
    provider._model = _Loaded(server=server, lock=threading.Lock())
    request = GenerateRequest(messages=[Message(role="user", content="hi")], config=provider.config)
    with pytest.raises(error, match=message):
        await provider.generate(request)
    assert server.payloads[0]["seed"] == 5
