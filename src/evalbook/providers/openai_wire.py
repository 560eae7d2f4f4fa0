"""A lean client for the OpenAI chat-completions wire format, for self-hosted endpoints.

Why not the SDK here: against vLLM, Ollama or a proxy on the same network a call takes a
few milliseconds, and the SDK's per-request work (URL parsing, option copies, header
models) costs more CPU than the whole HTTP exchange — about 1.5 ms against 0.4 ms per
call on a 2-core machine, which caps a 10k-case run at concurrency 100 near 30 s instead
of 6 s. ``openai:`` (the hosted API, any ``base_url``) keeps the official SDK; the
``openai-compatible`` family speaks the same JSON over a bounded pool of connections:
:class:`~evalbook.providers.plain_http.PlainHTTP` for ``http://`` endpoints (a local or
in-network server, where the client's own CPU per call matters most), one aiohttp session
for ``https://`` ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from evalbook.errors import FatalProviderError, TransientError
from evalbook.providers.endpoints import HostPolicy, active_policy, refuse_addresses
from evalbook.providers.http_errors import (
    connection_cause,
    no_reply,
    scrubbed,
    server_message,
    status_error,
    unreachable,
)
from evalbook.providers.plain_http import PlainHTTP

if TYPE_CHECKING:
    import aiohttp


class OpenAIWireClient:
    """POST ``{base_url}/chat/completions`` (or another ``path``: the Hugging Face
    provider's ``/models/NAME``) with a bounded connection pool."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        api_key: str | None,
        *,
        max_connections: int,
        timeout_s: float,
        path: str = "/chat/completions",
    ) -> None:
        self.provider = provider
        self.url = base_url.rstrip("/") + path
        self.api_key = api_key
        self.max_connections = max_connections
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None
        self._plain: PlainHTTP | None = None
        #: ``http://``: :class:`PlainHTTP`; else aiohttp (TLS).
        self._is_plain = urlsplit(self.url).scheme == "http"
        #: The host policy of the context the first call was made in (a server's run).
        self._policy: HostPolicy | None = None

    def open(self) -> None:
        """Open the connection pool now (the provider's ``start``): the HTTP client is
        loaded before the run announces its first case."""
        if self._is_plain:
            self._get_plain()
        else:
            self._get_session()

    def _get_plain(self) -> PlainHTTP:
        if self._plain is None:
            self._policy = active_policy()
            self._plain = PlainHTTP(
                self.provider,
                self.url,
                self._headers,
                max_connections=self.max_connections,
                timeout_s=self.timeout_s,
                policy=self._policy,
            )
        return self._plain

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._policy = active_policy()
            resolver = None
            if self._policy is not None:
                from evalbook.providers.guarded_resolver import GuardedResolver

                resolver = GuardedResolver(self.provider, self._policy)
            connector = aiohttp.TCPConnector(
                limit=self.max_connections, ttl_dns_cache=300, resolver=resolver
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                headers=self._headers,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def post(self, body: dict[str, Any]) -> bytes:
        """The raw reply body of a 2xx answer; errors raised as evalbook's classes."""
        if self._is_plain:
            answer = await self._get_plain().post(json.dumps(body).encode())
            if answer.status >= 400:
                raise self._status_error(answer.status, answer.body, answer.headers)
            if answer.status >= 300:  # not followed: a POST must not turn into a GET
                where = scrubbed(answer.headers.get("location", "elsewhere")[:300], self.api_key)
                raise FatalProviderError(
                    f"{self.provider}: HTTP {answer.status}: {self.url} redirects to {where};"
                    " set base_url to the address it points to",
                    status_code=answer.status,
                )
            return answer.body
        import aiohttp

        session = self._get_session()
        if self._policy is not None:
            self._check_literal(self._policy)
        try:
            async with session.post(self.url, data=json.dumps(body)) as reply:
                raw = await reply.read()
                if reply.status >= 400:
                    raise self._status_error(reply.status, raw, reply.headers)
                return raw
        except TimeoutError:
            raise no_reply(self.provider, self.timeout_s) from None
        except aiohttp.ClientConnectorError as exc:
            raise unreachable(self.provider, self.url, exc) from None
        except aiohttp.ClientError as exc:
            raise TransientError(
                f"{self.provider}: connection failed: {connection_cause(exc)}"
            ) from None

    def _check_literal(self, policy: HostPolicy) -> None:
        """An IP address in the URL is connected to without a lookup: check it here."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        refuse_addresses(self.provider, host, port, [host], policy)

    def _status_error(self, status: int, raw: bytes, headers: Mapping[str, str]) -> Exception:
        try:
            parsed: object = json.loads(raw)
        except ValueError:
            parsed = None
        message = server_message(parsed, raw[:300].decode("utf-8", "replace"))
        return status_error(self.provider, status, message, headers, secret=self.api_key)

    async def close(self) -> None:
        if self._plain is not None:
            plain, self._plain = self._plain, None
            await plain.close()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
