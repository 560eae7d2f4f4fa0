"""The plain-HTTP client against servers on loopback that answer exactly the bytes given.

Every server here listens on 127.0.0.1 (or the loopback alias 127.0.0.2) and writes its
replies byte for byte, so each framing the client must read (length, chunks, close) and
each way a server can fail it is what the client really meets.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest

from evalbook.errors import (
    EndpointUnreachable,
    FatalProviderError,
    RateLimitError,
    TransientError,
)
from evalbook.providers.endpoints import EndpointRefused, HostPolicy
from evalbook.providers.openai_wire import OpenAIWireClient
from evalbook.providers.plain_http import HEAD_LIMIT, PlainHTTP, interleaved

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.requests: list[bytes] = []


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request (head and Content-Length body), or b"" at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


def ok(body: bytes, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@asynccontextmanager
async def serving(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[Server]:
    server = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        server.open += 1
        server.most_open = max(server.most_open, server.open)
        try:
            await handler(reader, writer, server.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            server.open -= 1
            writer.close()

    listener = await asyncio.start_server(on_connect, host, 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def client(server: Server, host: str = "127.0.0.1", **kwargs: object) -> PlainHTTP:
    options: dict[str, object] = {"max_connections": 4, "timeout_s": 5.0, **kwargs}
    return PlainHTTP(
        "test",
        f"http://{host}:{server.port}/v1/chat/completions",
        {"Content-Type": "application/json", "Authorization": "Bearer k"},
        **options,  # type: ignore[arg-type]
    )


def answering(*replies: bytes, requests: list[bytes] | None = None) -> Handler:
    """A handler that answers each request on a connection with the next reply."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        for reply in replies:
            request = await read_request(reader)
            if not request:
                return
            if requests is not None:
                requests.append(request)
            writer.write(reply)
            await writer.drain()
        await reader.read()  # hold the connection until the client closes it

    return handle


def once(reply: bytes) -> Handler:
    """A handler that answers one request with ``reply``, then closes the connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    return handle


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
    """Read the request, never answer."""
    await read_request(reader)
    await reader.read()


async def test_the_request_is_sent_as_written_and_the_connection_is_kept() -> None:
    seen: list[bytes] = []
    body = '{"messages": [{"content": "héllo\\n"}]}\n'.encode()
    async with serving(answering(ok(b"first"), ok(b"second"), requests=seen)) as server:
        http = client(server)
        first = await http.post(body)
        second = await http.post(body)
        await http.close()
    assert (first.status, first.body, second.body) == (200, b"first", b"second")
    assert server.connections == 1  # the second call reused the first's connection
    head, _, sent = seen[0].partition(b"\r\n\r\n")
    assert sent == body
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Authorization: Bearer k" in lines
    assert f"Content-Length: {len(body)}".encode() in lines


async def test_a_body_larger_than_the_socket_buffers_is_sent_whole() -> None:
    seen: list[bytes] = []
    body = b'{"image": "' + b"A" * (8 * 2**20) + b'"}'
    async with serving(answering(ok(b"got it"), requests=seen)) as server:
        http = client(server)
        assert (await http.post(body)).body == b"got it"
        await http.close()
    assert seen[0].partition(b"\r\n\r\n")[2] == body


async def test_chunked_replies_with_extensions_and_trailers() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Id: 7\r\nx-id: 8\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n"
    )
    async with serving(answering(reply, ok(b"again"))) as server:
        http = client(server)
        got = await http.post(b"{}")
        again = await http.post(b"{}")
        await http.close()
    assert got.body == b"hello world" and again.body == b"again"
    assert got.headers["x-id"] == "7, 8"
    assert server.connections == 1


@pytest.mark.parametrize(
    "handler",
    [
        answering(ok(b"bye", "Connection: close")),  # said, though the server keeps it open
        once(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\nbye"),  # to EOF
    ],
    ids=["connection-close", "http-1.0-to-eof"],
)
async def test_a_connection_the_server_ends_is_not_reused(handler: Handler) -> None:
    async with serving(handler) as server:
        http = client(server)
        assert (await http.post(b"{}")).body == b"bye"
        assert (await http.post(b"{}")).body == b"bye"
        await http.close()
    assert server.connections == 2


async def test_compressed_bodies_and_interim_replies() -> None:
    packed = gzip.compress(b'{"ok": true}')
    reply = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        + b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(packed)}\r\n\r\n".encode()
        + packed
    )
    async with serving(answering(reply)) as server:
        http = client(server)
        got = await http.post(b"{}")
        await http.close()
    assert (got.status, got.body) == (200, b'{"ok": true}')


async def test_an_idle_connection_closed_by_the_server_is_replaced_without_an_error() -> None:
    # The server drops each kept-alive connection after one reply (an idle timeout).
    async with serving(once(ok(b"once"))) as server:
        http = client(server)
        assert (await http.post(b"{}")).body == b"once"
        await asyncio.sleep(0.1)  # the close reaches the client
        assert (await http.post(b"{}")).body == b"once"
        await http.close()
    assert server.connections == 2


async def test_no_more_connections_than_the_limit() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while await read_request(reader):
            await asyncio.sleep(0.05)
            writer.write(ok(b"x"))
            await writer.drain()

    async with serving(slow) as server:
        http = client(server, max_connections=2)
        got = await asyncio.gather(*(http.post(b"{}") for _ in range(6)))
        await http.close()
    assert [g.body for g in got] == [b"x"] * 6
    assert server.most_open == 2 and server.connections == 2


async def test_a_refused_connection_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = PlainHTTP("test", f"http://127.0.0.1:{port}/v1", {}, max_connections=1, timeout_s=5)
    with pytest.raises(EndpointUnreachable, match="connection refused") as raised:
        await http.post(b"{}")
    assert raised.value.url == f"http://127.0.0.1:{port}/v1"


async def test_no_reply_in_time_is_transient_and_the_connection_is_dropped() -> None:
    async with serving(hang) as server:
        http = client(server, timeout_s=0.2)
        with pytest.raises(TransientError, match=r"no reply within 0.2s"):
            await http.post(b"{}")
        await asyncio.sleep(0.05)
        assert server.open == 0  # closed, not kept for the next call
        await http.close()


async def test_a_cancelled_call_drops_its_connection() -> None:
    async with serving(hang) as server:
        http = client(server)
        call = asyncio.create_task(http.post(b"{}"))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.05)
        assert server.open == 0
        await http.close()


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "before its reply ended"),
        (b"", "without a reply"),
        (b"SMTP ready\r\n\r\n", "malformed reply: status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n", "not a number"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx", "br"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * HEAD_LIMIT + b"\r\n\r\n", "headers over 64 KiB"),
    ],
)
async def test_broken_replies_are_transient_failures(reply: bytes, why: str) -> None:
    async with serving(once(reply)) as server:
        http = client(server)
        with pytest.raises(TransientError, match=why):
            await http.post(b"{}")
        await http.close()


async def test_the_policy_refuses_before_anything_connects() -> None:
    async with serving(answering(ok(b"x")), host="127.0.0.2") as server:
        refused = client(server, host="127.0.0.2", policy=HostPolicy(frozenset()))
        with pytest.raises(EndpointRefused, match="loopback"):
            await refused.post(b"{}")
        assert server.connections == 0
        allowed = client(server, host="127.0.0.2", policy=HostPolicy(frozenset({"127.0.0.2"})))
        assert (await allowed.post(b"{}")).body == b"x"
        await allowed.close()


async def test_a_host_name_is_resolved_and_checked() -> None:
    async with serving(answering(ok(b"named"))) as server:
        http = client(server, host="localhost")
        assert (await http.post(b"{}")).body == b"named"
        await http.close()
        refused = client(server, host="localhost", policy=HostPolicy(frozenset()))
        with pytest.raises(EndpointRefused, match="localhost"):
            await refused.post(b"{}")


def test_header_values_cannot_break_the_request() -> None:
    with pytest.raises(ValueError, match="Authorization") as raised:
        PlainHTTP("t", "http://127.0.0.1:9/v1", {"Authorization": "Bearer a\r\nX: y"},
                  max_connections=1, timeout_s=1)  # fmt: skip
    assert "Bearer" not in str(raised.value)  # the value (a key) is not repeated
    with pytest.raises(ValueError, match="plain-HTTP"):
        PlainHTTP("t", "https://127.0.0.1:9/v1", {}, max_connections=1, timeout_s=1)


async def test_the_wire_client_reads_statuses_from_plain_replies() -> None:
    """Through the provider's client: a 429's wait, a redirect refused (never followed:
    a POST turned into a GET), a 2xx's body as sent."""
    error = b'{"error": {"message": "slow down k"}}'
    limited = (
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n"
        + f"Content-Length: {len(error)}\r\n\r\n".encode()
        + error
    )
    moved = (
        b"HTTP/1.1 301 Moved\r\nLocation: https://example.test/v1?key=slow down k\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    async with serving(answering(limited, moved, ok(b'{"id": "x"}'))) as server:
        wire = OpenAIWireClient(
            "test", f"http://127.0.0.1:{server.port}/v1", "slow down k",
            max_connections=1, timeout_s=5,
        )  # fmt: skip
        with pytest.raises(RateLimitError) as limit:
            await wire.post({"model": "m"})
        assert limit.value.retry_after == 7 and "***" in str(limit.value)  # the key scrubbed
        with pytest.raises(
            FatalProviderError, match=r"redirects to https://example\.test/v1"
        ) as moved_to:
            await wire.post({"model": "m"})
        assert "slow down k" not in str(moved_to.value)
        assert await wire.post({"model": "m"}) == b'{"id": "x"}'
        await wire.close()
    assert server.connections == 1


async def test_an_address_that_refuses_is_skipped_and_the_one_that_answers_tried_first() -> None:
    """A name with two addresses (as ``localhost`` often has ``::1`` and ``127.0.0.1``)
    whose first refuses: the call connects to the second, and later connections start
    there. The name's lookup is stood in by its cached answer (this machine's resolver
    gives one address)."""
    async with serving(answering(ok(b"second"))) as server:
        http = client(server, host="localhost", max_connections=2)
        http._addresses = (["127.0.0.3", "127.0.0.1"], float("inf"))  # nothing on .3
        got = await asyncio.gather(http.post(b"{}"), http.post(b"{}"))
        assert [g.body for g in got] == [b"second", b"second"]
        assert http._addresses[0] == ["127.0.0.1", "127.0.0.3"]
        await http.close()
    assert server.connections == 2


@contextmanager
def silent(host: str, port: int) -> Iterator[None]:
    """A listener on ``host:port`` whose accept queue is full: the kernel drops every
    further connection attempt without a reply (as a broken route does), so a connect
    hangs instead of being refused."""
    listener = socket.socket()
    listener.bind((host, port))
    listener.listen(0)
    filler = socket.create_connection((host, port))  # queued, never accepted
    try:
        probe = socket.socket()
        probe.settimeout(0.3)
        with pytest.raises(TimeoutError):  # it really drops the attempt
            probe.connect((host, port))
        probe.close()
        yield
    finally:
        filler.close()
        listener.close()


async def test_an_address_that_never_answers_does_not_hold_the_call() -> None:
    """A name whose first address drops connection attempts (a broken IPv6 route, say):
    the next address is tried a quarter of a second later, the call is answered long
    before its time runs out, and later connections start at the address that answered.
    One address after the other, every call waited out its whole time on the first."""
    async with serving(answering(ok(b"answered"), ok(b"again"))) as server:
        with silent("127.0.0.2", server.port):  # the same port, on another address
            http = client(server, host="dual-stack.example", timeout_s=4.0)
            http._addresses = (["127.0.0.2", "127.0.0.1"], float("inf"))
            started = asyncio.get_running_loop().time()
            assert (await http.post(b"{}")).body == b"answered"
            assert asyncio.get_running_loop().time() - started < 2.0
            assert http._addresses[0] == ["127.0.0.1", "127.0.0.2"]
            assert (await http.post(b"{}")).body == b"again"  # kept alive: no new attempt
            await http.close()
    assert server.connections == 1


def test_the_two_address_families_take_turns() -> None:
    """From the resolver's first address's family, one of each in turn (RFC 8305): the
    second attempt already tries the other family."""
    v6, v4 = ["2001:db8::1", "2001:db8::2", "2001:db8::3"], ["192.0.2.1", "192.0.2.2"]
    assert interleaved(v6 + v4) == [v6[0], v4[0], v6[1], v4[1], v6[2]]
    assert interleaved(v4 + v6) == [v4[0], v6[0], v4[1], v6[1], v6[2]]
    assert interleaved([v4[0], v6[0], v4[1]]) == [v4[0], v6[0], v4[1]]
    assert interleaved(v4) == v4 and interleaved(v6) == v6 and interleaved([]) == []


async def test_a_looked_up_name_is_tried_by_families_in_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lookup's answer (stood in: this machine's resolver gives one address) is
    tried in the families' turns; every address is still checked against the policy."""
    found = ["::1", "::2", "127.0.0.1", "127.0.0.2"]

    async def lookup(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, port))
                for a in found]  # fmt: skip

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", lookup)
    http = PlainHTTP("t", "http://dual.example:9/v1", {}, max_connections=1, timeout_s=1)
    assert await http._resolve() == ["::1", "127.0.0.1", "::2", "127.0.0.2"]
    policy = HostPolicy(frozenset({"::1", "::2", "127.0.0.1"}))
    strict = PlainHTTP(
        "t", "http://dual.example:9/v1", {}, max_connections=1, timeout_s=1, policy=policy
    )
    with pytest.raises(EndpointRefused, match=r"127\.0\.0\.2"):
        await strict._resolve()
