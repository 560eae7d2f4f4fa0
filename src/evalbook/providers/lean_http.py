"""A minimal HTTP/1.1 client for JSON POSTs to a plain ``http://`` endpoint.

Why: against a model server on the same machine or network, aiohttp's per-request work
(a request object, header multidicts, payload objects, a timer, a response object and its
stream reader, a task to write the body) cost more CPU than everything else a run does
for a case: about 0.15 ms per call on a 2-core machine, the largest share of a run at
concurrency 100. Here a request is one prebuilt head plus the body, written in one call,
and the reply is parsed from one buffer by the connection's protocol.

What it speaks: keep-alive connections, a bounded pool, replies framed by
``Content-Length``, ``Transfer-Encoding: chunked`` or the connection's end,
``Content-Encoding: gzip``/``deflate``, interim ``1xx`` replies skipped. Anything else
(``https``, a URL with credentials, a query or characters to quote, a host policy to
enforce) stays on aiohttp (:class:`~evalbook.providers.openai_wire.OpenAIWireClient`
decides). A request is never sent twice: a connection that fails is an error for the
executor to retry and record, as with aiohttp.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from urllib.parse import SplitResult

__all__ = ["HttpReply", "LeanPool", "lean_target"]

#: A path sent as it is (nothing to percent-encode).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~/!$&'()*+,;=:@%]*")
#: The most bytes of a reply's head (status line and headers).
MAX_HEAD = 65536


class HttpReply:
    """Status, headers (names in lower case) and body of one reply."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class ReplyError(Exception):
    """The connection failed or the reply could not be read (``cause`` says why)."""


def lean_target(parts: SplitResult) -> tuple[str, int, str, str] | None:
    """``(host, port, Host header, path)`` of a URL this client can serve; ``None``
    otherwise."""
    if parts.scheme != "http" or parts.query or parts.fragment or "@" in parts.netloc:
        return None
    host = parts.hostname
    try:
        port = parts.port or 80
    except ValueError:
        return None
    if not host or not _PLAIN_PATH.fullmatch(parts.path or "/"):
        return None
    if not parts.netloc.isascii() or any(c in parts.netloc for c in " \r\n\t"):
        return None
    # The Host header names the port unless it is the default one.
    netloc = parts.netloc
    authority = netloc.rsplit(":", 1)[0] if parts.port == 80 else netloc
    return host, port, authority, parts.path or "/"


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request at a time."""

    def __init__(self, pool: LeanPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[HttpReply] | None = None
        self.closed = False
        self.reusable = False
        self._head: tuple[int, dict[str, str], int] | None = None  # status, headers, body at
        self._eof = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # nothing asked: the connection is out of step
            self._close()
            return
        self.buf += data
        self._advance()

    def eof_received(self) -> bool:
        self._eof = True
        if self.waiter is not None:
            self._advance()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self._eof = True
            self._advance()
            if not waiter.done():
                cause = exc or ConnectionResetError("the server closed the connection")
                waiter.set_exception(ReplyError(cause))

    # -- a request -------------------------------------------------------------------------

    def ask(self, data: bytes) -> asyncio.Future[HttpReply]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        self.buf.clear()
        self._head = None
        self.reusable = False
        self.transport.write(data)
        return waiter

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, why: str) -> None:
        waiter = self.waiter
        self._close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(ReplyError(why))

    def _advance(self) -> None:
        """Complete the waiter once the buffer holds a whole reply."""
        buf = self.buf
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._fail("reply head too large")
                elif self._eof:
                    self._fail("the server closed the connection before replying")
                return
            head = parse_head(bytes(buf[:end]))
            if head is None:
                self._fail("malformed reply head")
                return
            status, headers, keep_alive = head
            if 100 <= status < 200:  # interim reply: the real one follows
                del buf[: end + 4]
                continue
            self._head = (status, headers, end + 4)
            self.reusable = keep_alive
        status, headers, start = self._head
        length = headers.get("content-length")
        body: bytes | None
        if "chunked" in headers.get("transfer-encoding", "").lower():
            try:
                body = dechunk(buf, start)
            except ValueError as exc:
                self._fail(f"malformed chunked body: {exc}")
                return
        elif status in (204, 304):
            body = b""
        elif length is not None:
            try:
                size = int(length)
            except ValueError:
                self._fail(f"malformed Content-Length {length!r}")
                return
            if size < 0:
                self._fail(f"malformed Content-Length {length!r}")
                return
            body = bytes(buf[start : start + size]) if len(buf) - start >= size else None
        else:  # framed by the end of the connection
            self.reusable = False
            body = bytes(buf[start:]) if self._eof else None
        if body is None:
            if self._eof:
                self._fail("the server closed the connection in the middle of its reply")
            return
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding not in ("identity", ""):
            try:
                body = decode_body(body, encoding)
            except (zlib.error, ValueError) as exc:
                self._fail(f"reply body not decodable ({encoding}): {exc}")
                return
        waiter = self.waiter
        self.waiter = None
        self.buf = bytearray()
        if not self.reusable:
            self._close()
        if waiter is not None and not waiter.done():
            waiter.set_result(HttpReply(status, headers, body))


def parse_head(head: bytes) -> tuple[int, dict[str, str], bool] | None:
    """``(status, headers, keep-alive)`` of a reply head; ``None`` when malformed."""
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
        return None
    try:
        status = int(status_line[1])
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            return None
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("connection", "").lower()
    if status_line[0] == "HTTP/1.0":
        keep_alive = "keep-alive" in connection
    else:
        keep_alive = "close" not in connection
    return status, headers, keep_alive


def dechunk(buf: bytearray, start: int) -> bytes | None:
    """The body of a chunked reply that starts at ``start``; ``None`` while incomplete."""
    out = bytearray()
    pos = start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        size = int(size_text, 16)  # ValueError: malformed
        if size < 0:
            raise ValueError(f"chunk size {size_text!r}")
        pos = line_end + 2
        if size == 0:
            # trailers, then an empty line
            while True:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                if line_end == pos:
                    return bytes(out)
                pos = line_end + 2
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


def decode_body(body: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    raise ValueError(f"unsupported content-encoding {encoding!r}")


class LeanPool:
    """Keep-alive connections to one ``host:port``, at most ``limit`` at once; each
    request is ``head`` + ``Content-Length`` + the body, in one write."""

    def __init__(self, host: str, port: int, head: bytes, limit: int) -> None:
        self.host = host
        self.port = port
        self.head = head
        self.limit = limit
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._slots: asyncio.Semaphore | None = None

    def forget(self, conn: _Connection) -> None:
        self._open.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)

    async def _connection(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
            self._open.discard(conn)
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _Connection(self), self.host, self.port)
        self._open.add(conn)
        return conn

    async def post(self, body: bytes) -> HttpReply:
        """The reply to one POST. ``OSError`` when no connection could be made,
        :class:`ReplyError` when the connection failed after it was made."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            conn = await self._connection()
            data = b"%s%d\r\n\r\n%s" % (self.head, len(body), body)
            try:
                reply = await conn.ask(data)
            except BaseException:
                conn._close()  # canceled (a timeout) or failed: its state is unknown
                raise
            if conn.reusable and not conn.closed:
                self._idle.append(conn)
            return reply

    async def close(self) -> None:
        conns = list(self._open)
        self._open.clear()
        self._idle.clear()
        for conn in conns:
            conn._close()
        if conns:
            await asyncio.sleep(0)  # let the transports close
