"""A lean client for the OpenAI chat-completions wire format, for self-hosted endpoints.

Why not the SDK here: against vLLM, Ollama or a proxy on the same network a call takes a
few milliseconds, and the SDK's per-request work (URL parsing, option copies, header
models) costs more CPU than the whole HTTP exchange — about 1.5 ms against 0.4 ms per
call on a 2-core machine, which caps a 10k-case run at concurrency 100 near 30 s instead
of 6 s. ``openai:`` (the hosted API, any ``base_url``) keeps the official SDK; the
``openai-compatible`` family speaks the same JSON through one connection pool: for a plain
``http://`` endpoint (no host policy to enforce) the lean HTTP/1.1 client of
:mod:`evalbook.providers.lean_http` (another 0.1 ms of CPU per call less than aiohttp),
else one pooled aiohttp session.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from evalbook.errors import EndpointUnreachable, TransientError
from evalbook.providers.endpoints import (
    HostPolicy,
    active_policy,
    guarded,
    ip_literal,
    refuse_connection,
)
from evalbook.providers.http_errors import connection_cause, server_message, status_error
from evalbook.providers.lean_http import LeanPool, ReplyError, lean_target

if TYPE_CHECKING:
    import aiohttp


class OpenAIWireClient:
    """POST ``{base_url}/chat/completions`` with a bounded connection pool."""

    #: Whether a plain ``http://`` endpoint gets the lean client (False: aiohttp always).
    lean: ClassVar[bool] = True

    def __init__(
        self,
        provider: str,
        base_url: str,
        api_key: str | None,
        *,
        max_connections: int,
        timeout_s: float,
    ) -> None:
        self.provider = provider
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.max_connections = max_connections
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None
        #: The host policy of the context the first call was made in (a server's run).
        self._policy: HostPolicy | None = None
        #: The lean pool, when the first call found the endpoint fit for it.
        self._pool: LeanPool | None = None
        self._chosen = False

    def _choose(self) -> None:
        """On the first call: the lean client for a plain ``http://`` URL when no host
        policy is active (a policy's checks live in aiohttp's resolver), else aiohttp."""
        self._chosen = True
        if not self.lean or active_policy() is not None:
            return
        target = lean_target(urlsplit(self.url))
        if target is None:
            return
        host, port, authority, path = target
        head = f"POST {path} HTTP/1.1\r\nHost: {authority}\r\n"
        for name, value in self._headers.items():
            head += f"{name}: {value}\r\n"
        head += "Content-Length: "
        self._pool = LeanPool(host, port, head.encode("latin-1"), self.max_connections)

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
        if not self._chosen:
            self._choose()
        if self._pool is not None:
            return await self._post_lean(self._pool, body)
        import aiohttp

        session = self._get_session()
        if self._policy is not None:
            self._check_literal(self._policy)
        try:
            async with session.post(self.url, data=json.dumps(body)) as reply:
                raw = await reply.read()
                if reply.status >= 400:
                    try:
                        parsed: object = json.loads(raw)
                    except ValueError:
                        parsed = None
                    message = server_message(parsed, raw[:300].decode("utf-8", "replace"))
                    raise status_error(
                        self.provider, reply.status, message, reply.headers, secret=self.api_key
                    )
                return raw
        except TimeoutError:
            raise TransientError(
                f"{self.provider}: no reply within {self.timeout_s:g}s (timeout_s)"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            cause = connection_cause(exc)
            raise EndpointUnreachable(
                f"{self.provider}: cannot connect to {self.url}: {cause}", url=self.url, cause=cause
            ) from None
        except aiohttp.ClientError as exc:
            raise TransientError(
                f"{self.provider}: connection failed: {connection_cause(exc)}"
            ) from None

    async def _post_lean(self, pool: LeanPool, body: dict[str, Any]) -> bytes:
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await pool.post(json.dumps(body).encode())
        except TimeoutError:
            raise TransientError(
                f"{self.provider}: no reply within {self.timeout_s:g}s (timeout_s)"
            ) from None
        except ReplyError as exc:
            why = exc.args[0]
            cause = connection_cause(why) if isinstance(why, BaseException) else str(why)
            raise TransientError(f"{self.provider}: connection failed: {cause}") from None
        except OSError as exc:  # no connection was made
            cause = connection_cause(exc)
            raise EndpointUnreachable(
                f"{self.provider}: cannot connect to {self.url}: {cause}", url=self.url, cause=cause
            ) from None
        raw = reply.body
        if reply.status >= 400:
            try:
                parsed: object = json.loads(raw)
            except ValueError:
                parsed = None
            message = server_message(parsed, raw[:300].decode("utf-8", "replace"))
            raise status_error(
                self.provider, reply.status, message, reply.headers, secret=self.api_key
            )
        return raw

    def _check_literal(self, policy: HostPolicy) -> None:
        """An IP address in the URL is connected to without a lookup: check it here."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        address = ip_literal(host)
        if address is not None:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            with guarded(policy):
                refuse_connection(self.provider, host, port, address)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            self._chosen = False
            await pool.close()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
