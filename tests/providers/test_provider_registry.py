"""The provider registry, ``create_provider`` and the ``@provider`` decorator."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

import evalbook.providers as providers_pkg
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, UnknownNameError
from evalbook.providers import (
    PROVIDERS,
    GenerateRequest,
    GenerateResponse,
    Provider,
    create_provider,
    provider,
)

BUILTINS = ["anthropic", "local", "mock", "ollama", "openai", "openai-compatible", "python", "vllm"]


@pytest.fixture
def scratch_names() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        PROVIDERS.unregister(name)


def _request(spec: str) -> GenerateRequest:
    provider_name, name = spec.split(":", 1)
    config = ModelConfig(provider=provider_name, name=name)
    return GenerateRequest(messages=[Message(role="user", content="hi")], config=config)


def test_every_builtin_is_registered_and_resolves_to_a_provider_class() -> None:
    assert set(BUILTINS) <= set(PROVIDERS.names())
    for name in BUILTINS:
        cls = PROVIDERS.get(name)
        assert issubclass(cls, Provider)
        assert cls.name == name


def test_unknown_provider_suggests_the_close_name() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'openai'"):
        create_provider(ModelConfig(provider="opneai", name="gpt-4o-mini"))


async def test_a_sync_function_becomes_a_provider(scratch_names: list[str]) -> None:
    scratch_names.append("shout")

    @provider("shout")
    def shout(request: GenerateRequest) -> str:
        return request.messages[-1].text.upper() + "!"

    assert shout(_request("shout:x")) == "HI!"  # still the user's function
    p = create_provider(ModelConfig(provider="shout", name="v1"))
    response = await p.generate(_request("shout:v1"))
    assert (response.text, response.served_model) == ("HI!", "v1")
    assert p.price() is None  # unknown, not free


async def test_an_async_function_may_return_a_full_response(scratch_names: list[str]) -> None:
    scratch_names.append("full")

    @provider("full")
    async def full(request: GenerateRequest) -> GenerateResponse:
        return GenerateResponse(text="ok", input_tokens=1, output_tokens=1)

    response = await create_provider(ModelConfig(provider="full", name="m")).generate(
        _request("full:m")
    )
    assert response.text == "ok"


async def test_function_errors_are_fatal(scratch_names: list[str]) -> None:
    scratch_names.append("broken")

    @provider("broken")
    def broken(request: GenerateRequest) -> str:
        raise KeyError("nope")

    with pytest.raises(FatalProviderError, match="KeyError"):
        await create_provider(ModelConfig(provider="broken", name="m")).generate(
            _request("broken:m")
        )


async def test_a_provider_class_is_registered_under_the_name(scratch_names: list[str]) -> None:
    scratch_names.append("fixed")

    @provider("fixed")
    class Fixed(Provider):
        async def generate(self, request: GenerateRequest) -> GenerateResponse:
            return GenerateResponse(text="fixed")

    assert Fixed.name == "fixed"
    assert isinstance(create_provider(ModelConfig(provider="fixed", name="m")), Fixed)
    with pytest.raises(ConfigError, match="already registered"):
        provider("fixed")(Fixed.generate)


def test_decorating_something_else_is_an_error() -> None:
    with pytest.raises(ConfigError, match="Provider subclass or a function"):
        provider("nope")(int)


def test_public_names() -> None:
    assert sorted(providers_pkg.__all__) == sorted(
        [
            "PROVIDERS",
            "GenerateRequest",
            "GenerateResponse",
            "Provider",
            "create_provider",
            "provider",
        ]
    )
    for name in providers_pkg.__all__:
        assert getattr(providers_pkg, name) is not None


def test_importing_the_providers_imports_no_sdk() -> None:
    code = (
        "import sys, evalbook.providers, evalbook.providers.registry;"
        "print(sorted(m for m in ('openai', 'anthropic', 'xllamacpp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_provider_modules_import_without_their_sdk_loaded() -> None:
    for module in ("openai_compat", "anthropic", "local", "mock", "python_callable"):
        importlib.import_module(f"evalbook.providers.{module}")
