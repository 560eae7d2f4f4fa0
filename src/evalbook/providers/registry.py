"""Provider names → provider classes, and the ``@evalbook.provider`` decorator.

Built-ins are entry points of ``evalbook.providers`` (see ``pyproject.toml``) exactly like
third-party plugins, so ``evalbook.providers.openai_compat`` and its SDK are imported only
when a run names ``openai``. ``@provider`` adds a class, or wraps a plain function, at run
time; the function form is the shortest way to put the user's own system under test.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from evalbook.core.model_config import ModelConfig
from evalbook.core.registry import Registry
from evalbook.core.secrets import check_no_secrets
from evalbook.errors import ConfigError, FatalProviderError, ProviderError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider

__all__ = ["PROVIDERS", "GenerateFunction", "create_provider", "provider", "resolve_config"]

PROVIDERS: Registry[type[Provider]] = Registry("provider", "evalbook.providers")

#: A provider written as a function: one request in, text or a full response out.
GenerateFunction = Callable[
    [GenerateRequest], str | GenerateResponse | Awaitable[str | GenerateResponse]
]

_P = TypeVar("_P", bound=type[Provider] | Callable[..., Any])


def _provider_class(config: ModelConfig) -> type[Provider]:
    cls = PROVIDERS.get(config.provider)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise ConfigError(
            f"provider {config.provider!r} is registered as {cls!r}, which is not a Provider"
            " subclass"
        )
    return cls


def create_provider(config: ModelConfig) -> Provider:
    """An instance of the provider named by ``config.provider`` (unknown names suggest)."""
    return _provider_class(config)(config)


def resolve_config(config: ModelConfig, *, base_dir: Path | None = None) -> ModelConfig:
    """The model config as a run records it (see :meth:`Provider.resolve_config`); one
    that would record a secret is refused (:mod:`evalbook.core.secrets`)."""
    check_no_secrets(config)
    return _provider_class(config).resolve_config(config, base_dir=base_dir)


def provider(name: str, *, replace: bool = False) -> Callable[[_P], _P]:
    """Register a :class:`Provider` subclass, or a function, under ``name``.

    ``@provider("my-app")`` on ``def answer(request) -> str`` (sync or async) makes
    ``my-app:anything`` a model spec. The decorated object is returned unchanged, so the
    function stays callable. Raise :class:`evalbook.errors.TransientError` or
    :class:`~evalbook.errors.RateLimitError` for failures worth retrying; any other
    exception is recorded as a fatal error of that case.
    """

    def register(obj: _P) -> _P:
        if isinstance(obj, type):
            if not issubclass(obj, Provider):
                raise ConfigError(f"@provider({name!r}) needs a Provider subclass or a function")
            if "name" not in vars(obj):
                obj.name = name
            PROVIDERS.register(name, obj, replace=replace)
        elif callable(obj):
            PROVIDERS.register(name, _function_provider(name, obj), replace=replace)
        else:
            raise ConfigError(f"@provider({name!r}) needs a Provider subclass or a function")
        return obj

    return register


def _function_provider(name: str, fn: Callable[..., Any]) -> type[Provider]:
    """A Provider class that calls ``fn(request)``; sync functions run in a worker thread."""
    is_async = inspect.iscoroutinefunction(fn)

    async def generate(self: Provider, request: GenerateRequest) -> GenerateResponse:
        try:
            result = await fn(request) if is_async else await asyncio.to_thread(fn, request)
            if inspect.isawaitable(result):
                result = await result
        except ProviderError:
            raise
        except Exception as exc:
            raise FatalProviderError(f"{name}: {type(exc).__name__}: {exc}") from exc
        if isinstance(result, GenerateResponse):
            return result
        if isinstance(result, str):
            return GenerateResponse(text=result, served_model=self.config.name)
        raise FatalProviderError(
            f"{name}: the provider function returned {type(result).__name__};"
            " expected str or GenerateResponse"
        )

    cls = type(
        f"FunctionProvider[{name}]",
        (Provider,),
        {
            "name": name,
            "generate": generate,
            "reads_case": True,  # the function sees the whole request, variables included
            "__doc__": fn.__doc__,
            "__module__": fn.__module__,
        },
    )
    return cls
