"""The user's own system under test, as ``python:module.path:function``.

Why by import path: a suite file stays data (no code in YAML), and the function is looked
up like any other Python import, from ``sys.path`` plus the working directory, so
``python:app.chat:answer`` works from a project's root without packaging.

The function declares what it wants by parameter name: ``prompt`` (the messages as flat
text), ``messages`` (``[{"role", "content"}]``), ``vars`` (the case's variables),
``case_id`` and ``config`` (the :class:`ModelConfig`); ``**kwargs`` receives them all. It
returns a string, a dict ``{"output": str, "structured"?, "input_tokens"?,
"output_tokens"?}``, or a :class:`GenerateResponse`. Sync functions run in a worker thread.

An exception from the function is a fatal error of that case (user code is deterministic,
so retrying cannot help) unless it is one of evalbook's ``ProviderError`` classes, raised
on purpose to ask for a retry.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from evalbook.core.messages import messages_text
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, ProviderError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider

__all__ = ["ARGUMENTS", "PythonCallableProvider", "load_function"]

#: The keyword arguments a user function may declare.
ARGUMENTS = ("prompt", "messages", "vars", "case_id", "config")


class PythonCallableProvider(Provider):
    """Calls ``module.path:function`` once per case; the price is zero."""

    name = "python"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.function = load_function(config.name)
        self._wanted = _wanted_arguments(self.function, config.name)
        self.reads_case = bool({"vars", "case_id"} & set(self._wanted))
        self._is_async = inspect.iscoroutinefunction(self.function)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        available: dict[str, Any] = {
            "prompt": messages_text(request.messages),
            "messages": [{"role": m.role, "content": m.text} for m in request.messages],
            "vars": dict(request.variables),
            "case_id": request.case_id,
            "config": request.config,
        }
        kwargs = {k: available[k] for k in self._wanted}
        try:
            if self._is_async:
                result = await self.function(**kwargs)
            else:
                result = await asyncio.to_thread(self.function, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
        except ProviderError:
            raise
        except Exception as exc:
            raise FatalProviderError(
                f"{self.config.name} raised {type(exc).__name__}: {exc}"
            ) from exc
        return self._response(result)

    def _response(self, result: object) -> GenerateResponse:
        served = self.config.name
        if isinstance(result, GenerateResponse):
            return result
        if isinstance(result, str):
            return GenerateResponse(text=result, served_model=served)
        if isinstance(result, Mapping) and isinstance(result.get("output"), str):
            structured = result.get("structured")
            return GenerateResponse(
                text=result["output"],
                structured=dict(structured) if isinstance(structured, Mapping) else None,
                served_model=served,
                input_tokens=_optional_int(result.get("input_tokens")),
                output_tokens=_optional_int(result.get("output_tokens")),
            )
        raise FatalProviderError(
            f"{self.config.name} returned {type(result).__name__}; expected a str, a dict with"
            " an 'output' string, or a GenerateResponse"
        )


def load_function(target: str) -> Callable[..., Any]:
    """Import ``module.path:function`` (dotted attributes allowed after the colon)."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise ConfigError(f"python provider model {target!r} must look like 'module.path:function'")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"python provider: cannot import module {module_name!r} for {target!r}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"python provider: module {module_name!r} has no attribute {attr_path!r}"
            ) from None
    if not callable(obj):
        raise ConfigError(f"python provider: {target!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _wanted_arguments(fn: Callable[..., Any], target: str) -> tuple[str, ...]:
    """The known arguments ``fn`` declares (all of them if it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # some builtins and C functions have no signature
        return ("prompt",)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return ARGUMENTS
    wanted: list[str] = []
    for p in params:
        if p.name in ARGUMENTS and p.kind is not inspect.Parameter.POSITIONAL_ONLY:
            wanted.append(p.name)
        elif p.default is inspect.Parameter.empty and p.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            raise ConfigError(
                f"python provider: {target} takes a required parameter {p.name!r}; it may"
                f" declare only {', '.join(ARGUMENTS)} (or **kwargs)"
            )
    return tuple(wanted)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
