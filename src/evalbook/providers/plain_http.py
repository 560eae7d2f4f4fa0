"""POST to one plain-HTTP endpoint over a pool of kept-alive HTTP/1.1 connections.

Why not aiohttp for ``http://``: against a model server on the same machine or network
(vLLM, Ollama, the test server) a call's own client work is what bounds a run: aiohttp
spent 0.09-0.11 ms of CPU per call where this spends 0.04-0.05
(``benchmarks/bench_http_client.py``: 5,000 calls at concurrency 100, 2-core machine),
and importing it took ~0.1 s of the 0.34 s before ``evalbook run``'s first request (its
TLS contexts read the system's CA certificates at import). A plain
endpoint needs none of that: one method, one path, a JSON body, a reply read whole.
``https://`` endpoints keep aiohttp (TLS, and the latency of a hosted API dwarfs this).

What it speaks: ``POST`` with ``Content-Length``; replies with ``Content-Length``,
``Transfer-Encoding: chunked`` or a body ending at close, ``gzip``/``deflate`` bodies,
interim 1xx replies skipped. A connection is reused while the server keeps it alive, and
dropped on any doubt (an error, a timeout, a cancelled call, ``Connection: close``).
Failures are evalbook's classes: no connection made → :class:`EndpointUnreachable`;
broken or malformed after that → :class:`TransientError`; a host the run's policy
refuses → :class:`~evalbook.providers.endpoints.EndpointRefused`, before connecting.
"""

from __future__ import annotations

import asyncio
import socket
import time
import zlib
from collections import deque
from urllib.parse import urlsplit

from evalbook.errors import TransientError
from evalbook.providers.endpoints import HostPolicy, ip_literal, refuse_addresses
from evalbook.providers.http_errors import connection_cause, no_reply, unreachable

__all__ = ["PlainHTTP", "Reply", "interleaved"]

#: The most bytes a reply's status line and headers may take.
HEAD_LIMIT = 64 * 1024
#: Seconds a resolved host name's addresses are reused (aiohttp's ``ttl_dns_cache``).
DNS_TTL_S = 300.0
#: Seconds before connecting to a host's next address while the last one has not
#: answered (RFC 8305's recommended "connection attempt delay", aiohttp's).
CONNECT_STAGGER_S = 0.25


class Reply:
    """A reply: its status, its headers (names lower-cased; repeated ones joined by
    ``", "``) and its body, decoded from ``Content-Encoding``."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Broken(Exception):
    """The reply cannot be read as HTTP/1.1 (the connection is not reused)."""


class PlainHTTP:
    """``POST`` to ``url`` (``http://`` only) with at most ``max_connections`` open."""

    def __init__(
        self,
        provider: str,
        url: str,
        headers: dict[str, str],
        *,
        max_connections: int,
        timeout_s: float,
        policy: HostPolicy | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not a plain-HTTP URL: {url}")
        self.provider = provider
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        self.policy = policy
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if parts.port is not None:
            netloc += f":{self.port}"
        lines = [f"POST {target} HTTP/1.1", f"Host: {netloc}"]
        for name, value in headers.items():
            if any(c in value or c in name for c in "\r\n\0"):
                raise ValueError(f"HTTP header {name!r}: a line break or NUL in its value")
            lines.append(f"{name}: {value}")
        self._head = ("\r\n".join(lines) + "\r\n").encode()  # UTF-8, as aiohttp sends them
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
        self._addresses: tuple[list[str], float] | None = None
        self._closed = False

    async def post(self, body: bytes) -> Reply:
        """Send ``body``; the whole reply, whatever its status."""
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await self._exchange(body)
            except TimeoutError:
                raise no_reply(self.provider, self.timeout_s) from None

    async def close(self) -> None:
        """Close the idle connections; those in use close when their call ends."""
        self._closed = True
        while self._idle:
            self._idle.pop()[1].close()

    async def _exchange(self, body: bytes) -> Reply:
        reader, writer = await self._connection()
        reusable = False
        try:
            writer.write(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            reply, reusable = await _read_reply(reader)
            return reply
        except _Broken as exc:
            raise TransientError(f"{self.provider}: malformed reply: {exc}") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise TransientError(
                f"{self.provider}: connection failed: {_broken_cause(exc)}"
            ) from None
        finally:
            if reusable and not self._closed:
                self._idle.append((reader, writer))
            else:
                writer.close()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """An idle connection still open, else a new one."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()  # closed by the server meanwhile
        addresses = await self._resolve()
        address, reader, writer = await self._open(addresses)
        if addresses[0] != address:  # the next connection tries this one first
            addresses.remove(address)
            addresses.insert(0, address)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def _open(
        self, addresses: list[str]
    ) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the first of ``addresses`` that answers, tried in order: the
        next one :data:`CONNECT_STAGGER_S` after the last began, or as soon as it failed
        (happy eyeballs, RFC 8305, as aiohttp connected). One after the other, an address
        that drops packets (a broken IPv6 route) would hold every call until its time
        ran out, and the retries would try it first again."""
        todo = list(addresses)
        trying: dict[asyncio.Task[tuple[asyncio.StreamReader, asyncio.StreamWriter]], str] = {}
        last: OSError | None = None
        try:
            while todo or trying:
                if todo:
                    address = todo.pop(0)
                    attempt = asyncio.open_connection(address, self.port, limit=HEAD_LIMIT)
                    trying[asyncio.ensure_future(attempt)] = address
                done, _ = await asyncio.wait(
                    trying,
                    timeout=CONNECT_STAGGER_S if todo else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    address = trying.pop(task)
                    failure = task.exception()
                    if failure is None:
                        return address, *task.result()
                    if not isinstance(failure, OSError):
                        raise failure
                    last = failure
        finally:
            for task in trying:  # slower attempts: stopped, or closed if they got through
                task.cancel()
                task.add_done_callback(_close_if_open)
        assert last is not None  # (a lookup gives at least one address, or raises)
        raise unreachable(self.provider, self.url, last)

    async def _resolve(self) -> list[str]:
        """The host's addresses, each allowed by the run's policy (checked at every
        lookup: a name may resolve elsewhere than when the run was accepted)."""
        literal = ip_literal(self.host)
        if literal is not None:
            found = [self.host.strip("[]")]
        elif self._addresses is not None and self._addresses[1] > time.monotonic():
            return self._addresses[0]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    self.host, self.port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise unreachable(self.provider, self.url, exc) from None
            found = interleaved(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        if self.policy is not None:
            refuse_addresses(self.provider, self.host, self.port, found, self.policy)
        if literal is None:
            self._addresses = (found, time.monotonic() + DNS_TTL_S)
        return found


def interleaved(addresses: list[str]) -> list[str]:
    """``addresses`` in the resolver's order of preference, the two families taking turns
    from the first one's (RFC 8305, section 4): a name whose IPv6 addresses all sit on a
    broken route reaches its first IPv4 one at the second attempt, not after every IPv6
    one has been given its quarter of a second."""
    first = ":" in addresses[0] if addresses else False
    same = [a for a in addresses if (":" in a) == first]
    other = [a for a in addresses if (":" in a) != first]
    out: list[str] = []
    for i in range(max(len(same), len(other))):
        out.extend(group[i] for group in (same, other) if i < len(group))
    return out


def _close_if_open(task: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    if not task.cancelled() and task.exception() is None:
        task.result()[1].close()


def _broken_cause(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the server closed the connection before its reply ended"
    if isinstance(exc, asyncio.LimitOverrunError):
        return f"reply headers over {HEAD_LIMIT // 1024} KiB"
    return connection_cause(exc)


async def _read_reply(reader: asyncio.StreamReader) -> tuple[Reply, bool]:
    """The reply on ``reader`` and whether its connection may carry another request."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ConnectionResetError(
                    "the server closed the connection without a reply"
                ) from None
            raise
        status, version, headers = _parse_head(head)
        if 100 <= status < 200 and status != 101:
            continue  # an interim reply: the final one follows
        break
    keep = version == b"HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    coding = headers.get("transfer-encoding", "").lower()
    if "chunked" in coding:
        body = await _read_chunked(reader)
    elif coding and coding != "identity":
        raise _Broken(f"unsupported transfer-encoding {coding[:40]!r}")
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise _Broken("a content-length that is not a number") from None
        if length < 0:
            raise _Broken("a negative content-length")
        body = await reader.readexactly(length)
    elif status in (204, 304):
        body = b""
    else:  # the body ends where the connection does
        body = await reader.read()
        keep = False
    encoding = headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            body = _inflate(body, encoding)
        except zlib.error as exc:
            raise _Broken(f"a {encoding} body that does not decompress ({exc})") from None
    elif encoding not in ("", "identity"):
        raise _Broken(f"unsupported content-encoding {encoding[:40]!r}")
    return Reply(status, headers, body), keep


def _parse_head(head: bytes) -> tuple[int, bytes, dict[str, str]]:
    lines = head[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise _Broken(f"status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise _Broken(f"header line {line[:80]!r}")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return int(code), version, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _Broken(f"chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise _Broken("a negative chunk size")
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers: not used
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _Broken("a chunk not followed by CRLF")


def _inflate(body: bytes, encoding: str) -> bytes:
    if encoding == "deflate":
        try:  # zlib-wrapped, as the standard says; some servers send it raw
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return zlib.decompress(body, 16 + zlib.MAX_WBITS)
