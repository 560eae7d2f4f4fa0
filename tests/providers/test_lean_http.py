"""The lean HTTP/1.1 client of the ``openai-compatible`` family, against a raw socket
server that sends exactly the bytes each test gives (framings, encodings, failures)."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import EndpointUnreachable, RateLimitError, TransientError
from evalbook.providers import GenerateRequest, create_provider
from evalbook.providers.lean_http import lean_target
from evalbook.providers.openai_wire import OpenAIWireClient

COMPLETION = json.dumps(
    {
        "model": "served-model",
        "choices": [{"message": {"content": "héllo"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
).encode()


def reply(body: bytes = COMPLETION, status: str = "200 OK", headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


class RawServer:
    """Answers the n-th request with ``script[n]`` (bytes, or a callable given the
    writer); records each request's raw bytes and the connections made."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                step = self.script[len(self.requests) - 1]
                if callable(step):
                    if await step(writer) is False:
                        return
                else:
                    writer.write(step)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[list[Any]], Any]]:
    servers: list[RawServer] = []

    async def start(script: list[Any]) -> RawServer:
        srv = RawServer(script)
        srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        assert srv.server is not None
        srv.server.close()


def _config(srv: RawServer, **fields: Any) -> ModelConfig:
    return ModelConfig(
        provider="openai-compatible", name="m", base_url=srv.base_url, temperature=0, **fields
    )


async def _ask(config: ModelConfig, texts: list[str]) -> list[Any]:
    provider = create_provider(config)
    try:
        out = []
        for text in texts:
            request = GenerateRequest(messages=[Message(role="user", content=text)], config=config)
            out.append(await provider.generate(request))
        return out
    finally:
        await provider.aclose()


async def test_the_request_is_the_body_the_user_wrote_in_one_keep_alive_connection(
    raw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAN_KEY", "sk-lean-0123")
    srv = await raw([reply(), reply()])
    config = _config(srv, api_key_env="LEAN_KEY")
    texts = ['tab\tquote" ünï 𝄞 \\ {{ x }}', "second"]
    replies = await _ask(config, texts)
    assert [r.text for r in replies] == ["héllo", "héllo"]
    assert replies[0].served_model == "served-model" and replies[0].input_tokens == 3
    assert srv.connections == 1  # kept alive
    provider = create_provider(config)
    for raw_request, text in zip(srv.requests, texts, strict=True):
        head, _, body = raw_request.partition(b"\r\n\r\n")
        request = GenerateRequest(messages=[Message(role="user", content=text)], config=config)
        assert body == json.dumps(provider.request_body(request)).encode()  # byte for byte
        assert json.loads(body)["messages"][-1]["content"] == text
        lines = head.decode().split("\r\n")
        assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
        fields = dict(line.split(": ", 1) for line in lines[1:])
        assert fields["Host"] == urlsplit(srv.base_url).netloc
        assert fields["Content-Length"] == str(len(body))
        assert fields["Content-Type"] == "application/json"
        assert fields["Authorization"] == "Bearer sk-lean-0123"
        assert "User-Agent" not in fields


async def test_chunked_gzip_interim_and_close_framed_replies_are_read(raw: Any) -> None:
    half = len(COMPLETION) // 2
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x;ext=1\r\n%s\r\n" % (half, COMPLETION[:half])
        + b"%x\r\n%s\r\n" % (len(COMPLETION) - half, COMPLETION[half:])
        + b"0\r\nX-Trailer: t\r\n\r\n"
    )
    zipped = gzip.compress(COMPLETION)
    gzipped = reply(zipped, headers="Content-Encoding: gzip\r\n")
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + reply()

    async def close_framed(writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        await writer.drain()
        writer.write(COMPLETION)
        await writer.drain()
        return False  # the end of the connection ends the body

    srv = await raw([chunked, gzipped, interim, close_framed, reply()])
    replies = await _ask(_config(srv), ["a", "b", "c", "d", "e"])
    assert [r.text for r in replies] == ["héllo"] * 5
    assert srv.connections == 2  # the close-framed reply ended its connection


async def test_a_reply_split_byte_by_byte_is_read_whole(raw: Any) -> None:
    async def trickle(writer: asyncio.StreamWriter) -> None:
        for i in range(len(reply())):
            writer.write(reply()[i : i + 1])
            await writer.drain()

    srv = await raw([trickle])
    assert [r.text for r in await _ask(_config(srv), ["a"])] == ["héllo"]


async def test_connection_close_is_honoured_and_the_next_call_connects_again(raw: Any) -> None:
    srv = await raw([reply(headers="Connection: close\r\n"), reply()])
    replies = await _ask(_config(srv), ["a", "b"])
    assert [r.text for r in replies] == ["héllo", "héllo"]
    assert srv.connections == 2


@pytest.mark.parametrize("lean", [True, False])
async def test_failures_are_classified_as_with_aiohttp(
    raw: Any, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    monkeypatch.setattr(OpenAIWireClient, "lean", lean)

    async def reset(writer: asyncio.StreamWriter) -> bool:
        writer.transport.abort()
        return False

    async def truncated(writer: asyncio.StreamWriter) -> bool:
        writer.write(reply()[:-5])
        await writer.drain()
        return False

    limited = reply(b'{"error": {"message": "slow down"}}', "429 Too Many", "Retry-After: 3\r\n")
    srv = await raw([reset, truncated, limited, b"HTTP/1.1 200 OK\r\nbroken head\r\n\r\n"])
    config = _config(srv)
    with pytest.raises(TransientError, match="connection failed"):
        await _ask(config, ["a"])
    with pytest.raises(TransientError):
        await _ask(config, ["b"])
    with pytest.raises(RateLimitError, match="HTTP 429: slow down") as info:
        await _ask(config, ["c"])
    assert info.value.retry_after == 3.0
    with pytest.raises(TransientError):
        await _ask(config, ["d"])


async def test_a_refused_connection_is_an_unreachable_endpoint() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed below: nothing listens there
    config = ModelConfig(
        provider="openai-compatible", name="m", base_url=f"http://127.0.0.1:{port}/v1"
    )
    with pytest.raises(EndpointUnreachable, match="connection refused"):
        await _ask(config, ["a"])


async def test_a_timeout_closes_the_connection_and_the_next_call_succeeds(raw: Any) -> None:
    async def hang(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)

    srv = await raw([hang, reply()])
    config = _config(srv, timeout_s=0.2)
    provider = create_provider(config)
    request = GenerateRequest(messages=[Message(role="user", content="a")], config=config)
    try:
        with pytest.raises(TransientError, match="timeout_s"):
            await provider.generate(request)
        assert (await provider.generate(request)).text == "héllo"
    finally:
        await provider.aclose()
    assert srv.connections == 2  # the hung connection was not reused


def test_only_plain_http_urls_without_credentials_or_query_take_the_lean_client() -> None:
    def target(url: str) -> Any:
        return lean_target(urlsplit(url))

    assert target("http://127.0.0.1:8000/v1/chat/completions") == (
        "127.0.0.1", 8000, "127.0.0.1:8000", "/v1/chat/completions"
    )  # fmt: skip
    assert target("http://models.lan/v1/chat/completions") == (
        "models.lan", 80, "models.lan", "/v1/chat/completions"
    )  # fmt: skip
    assert target("http://[::1]:9/x")[:3] == ("::1", 9, "[::1]:9")
    assert target("https://api.example.com/v1/chat/completions") is None
    assert target("http://user:pw@127.0.0.1/v1/chat/completions") is None
    assert target("http://127.0.0.1/v1/chat/completions?api-version=1") is None
    assert target("http://127.0.0.1/a b/chat/completions") is None
    assert target("http://127.0.0.1/ü/chat/completions") is None


async def test_a_plain_http_endpoint_takes_the_lean_client_unless_turned_off(
    raw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = await raw([reply(), reply()])
    for lean in (True, False):
        monkeypatch.setattr(OpenAIWireClient, "lean", lean)
        config = _config(srv)
        provider = create_provider(config)
        request = GenerateRequest(messages=[Message(role="user", content="a")], config=config)
        try:
            assert (await provider.generate(request)).text == "héllo"
            wire = provider._wire  # type: ignore[attr-defined]
            assert (wire._pool is not None) is lean
            assert (wire._session is None) is lean
        finally:
            await provider.aclose()
