"""Classifying HTTP failures of model APIs into evalbook's retry classes.

Why one module: the OpenAI and Anthropic SDKs raise parallel but distinct exception
classes; both providers reduce them to a status code, headers and a server message, and the
decision (rate limit, transient, fatal) and the ``Retry-After`` parsing live here once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from evalbook.errors import (
    AuthError,
    EndpointUnreachable,
    FatalProviderError,
    ProviderError,
    RateLimitError,
    TransientError,
)

#: Request timeout, conflict, and the server-side family (502/503/504, Anthropic's 529).
_TRANSIENT_4XX = frozenset({408, 409})


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_error(
    provider: str,
    status: int,
    message: str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
) -> ProviderError:
    """The evalbook error for an HTTP error reply; ``secret`` is scrubbed from the message."""
    text = f"{provider}: HTTP {status}: {scrubbed(message, secret)}"
    if status == 429:
        return RateLimitError(text, status_code=status, retry_after=parse_retry_after(headers))
    if status >= 500 or status in _TRANSIENT_4XX:
        return TransientError(text, status_code=status)
    if status in (401, 403):
        return AuthError(text, status_code=status)
    return FatalProviderError(text, status_code=status)


def scrubbed(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (an API key a server echoed) replaced by ``***``."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "***")
    return text


def no_reply(provider: str, timeout_s: float) -> TransientError:
    """A call that got no reply within the model config's ``timeout_s``."""
    return TransientError(f"{provider}: no reply within {timeout_s:g}s (timeout_s)")


def unreachable(provider: str, url: str, exc: BaseException) -> EndpointUnreachable:
    """No connection to ``url`` could be made at all; ``exc`` says why."""
    cause = connection_cause(exc)
    return EndpointUnreachable(
        f"{provider}: cannot connect to {url}: {cause}", url=url, cause=cause
    )


def server_message(body: object, fallback: str) -> str:
    """The human message of an error body (``{"message"}``, ``{"error": {"message"}}`` or
    ``{"error": "…"}``)."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str) and inner:  # Hugging Face's {"error": "…"}
            return inner
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return fallback


def connection_cause(exc: BaseException) -> str:
    """A short cause of a failed connection ("connection refused"), never a repr dump."""
    import errno as errno_names
    import os
    import socket

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return f"host name not resolved ({current.strerror or current})"
        if isinstance(current, OSError) and current.errno:
            name = os.strerror(current.errno)
            if current.errno in (errno_names.ECONNREFUSED,):
                return "connection refused"
            return name[:1].lower() + name[1:]
        current = getattr(current, "os_error", None) or current.__cause__ or current.__context__
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def connection_error(provider: str, url: str, exc: BaseException) -> TransientError:
    """An SDK's connection error as ours: :class:`EndpointUnreachable` when no connection
    was made at all (the cause chain holds a connect error), else a transient failure."""
    cause = connection_cause(exc)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(type(c).__name__ in ("ConnectError", "ClientConnectorError") for c in chain) or any(
        isinstance(c, ConnectionRefusedError) for c in chain
    ):
        return unreachable(provider, url, exc)
    return TransientError(f"{provider}: connection failed: {cause}")
