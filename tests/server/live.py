"""Real sockets for the SSE and webhook tests: the app under uvicorn in a thread, a local
HTTP receiver that records what it is sent, and a small SSE frame reader."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from evalbook.server import ServerSettings, create_app
from evalbook.server.services import Service
from evalbook.storage.store import Store


def free_socket() -> socket.socket:
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only
    # then, and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port() -> int:
    """A local port nobody listens on (connections to it are refused)."""
    with free_socket() as sock:
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(app: FastAPI, sock: socket.socket) -> Iterator[None]:
    """Serve ``app`` with uvicorn on ``sock`` in a thread until the block ends."""
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def live_server(
    store: Store, *, services: tuple[Service, ...] = (), **settings: Any
) -> Iterator[str]:
    """The app on a free local port; yields its base URL."""
    sock = free_socket()
    port = int(sock.getsockname()[1])
    app = create_app(
        ServerSettings(port=port, worker=False, **settings), store=store, services=services
    )
    with serving(app, sock):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: answers each POST with the next of ``statuses`` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            self.requests.append(request)
            return self.statuses.pop(0) if self.statuses else 200


@contextlib.contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(statuses=list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = state.answer(Received(self.path, headers, body))
            payload = b"ok" if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/evalbook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class Frame:
    """One SSE frame (an event, or a frame of only comments / a retry hint)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


async def read_frames(
    response: httpx.Response, until: Callable[[list[Frame]], bool] | None = None
) -> list[Frame]:
    """Frames until the server ends the stream (or ``until`` says enough)."""
    frames: list[Frame] = []
    current = Frame()
    seen = False
    async for line in response.aiter_lines():
        if line == "":
            if seen:
                frames.append(current)
                if until is not None and until(frames):
                    break
            current, seen = Frame(), False
            continue
        seen = True
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "data":
            current.data = value if current.data is None else f"{current.data}\n{value}"
        elif name == "retry":
            current.retry = int(value)
        elif name in ("id", "event"):
            setattr(current, name, value)
    return frames
