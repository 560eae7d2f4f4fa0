"""A fake chat website on loopback, for the browser provider's tests and benchmark.

It streams each answer token by token with random pauses (so a driver that reads too
early gets half an answer), and misbehaves on request. Directives in a message:
``[[answer=TEXT]]`` (answer TEXT, else the message is echoed, stripped),
``[[latency=MS]]`` (wait before the first token), and, counted per message text so a
retry sees the next behaviour: ``[[hang:N]]`` (the first N sends stream a little, then
never finish), ``[[stall:N]]`` (the first N sends are never answered), ``[[reload:N]]``
(the page reloads itself mid-answer), ``[[ratelimit:N]]`` (a rate-limit banner).
Site-wide: ``require_login`` (a login form until a session cookie is set),
``rate_limited_sends`` (the first N sends are refused with a banner), and ``hang_rate`` /
``reload_rate`` (that share of distinct messages hang or reload the first time they are
sent, chosen by a hash of the text, so runs are repeatable).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from evalbook.testing.chat_site_pages import chat_page, login_page

__all__ = ["ChatSite", "ChatSiteConfig", "run_chat_site_in_thread"]

_ANSWER = re.compile(r"\[\[answer=(.*?)\]\]", re.DOTALL)
_LATENCY = re.compile(r"\[\[latency=(\d+(?:\.\d+)?)\]\]")
_FAULT = re.compile(r"\[\[(hang|stall|reload|ratelimit):(\d+)\]\]")
_TOKEN = re.compile(r"\S+\s*|\s+")
_COOKIE = "fake_chat_session"


@dataclasses.dataclass(frozen=True)
class ChatSiteConfig:
    """Site-wide behaviour; per-message behaviour comes from directives."""

    title: str = "Fake chat"
    pause_ms: tuple[float, float] = (2.0, 40.0)
    first_token_ms: float = 0.0
    seed: int = 0
    require_login: bool = False
    username: str = "tester"
    password: str = "open-sesame"
    rate_limited_sends: int = 0
    retry_after_s: float = 1.0
    hang_rate: float = 0.0
    reload_rate: float = 0.0
    #: After this many accepted sends the site forgets every session, once (a session that
    #: expires mid-run): the next send is refused until someone logs in again. 0: never.
    expire_sessions_after: int = 0


class ChatSite:
    """The site's state and counters (read them from the test's thread)."""

    def __init__(self, config: ChatSiteConfig | None = None) -> None:
        self.config = config or ChatSiteConfig()
        self.sessions: set[str] = set()
        self.sends = 0
        #: ``time.monotonic()`` of each message received (pacing is measured from these).
        self.sent_at: list[float] = []
        self.by_text: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.streaming = 0
        self.max_streaming = 0
        self.page_loads = 0
        self._random = random.Random(self.config.seed)
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/", self._home, methods=["GET"]),
                Route("/login", self._login, methods=["POST"]),
                Route("/api/chat", self._chat, methods=["POST"]),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _logged_in(self, request: Request) -> bool:
        return not self.config.require_login or request.cookies.get(_COOKIE) in self.sessions

    async def _home(self, request: Request) -> Response:
        self.page_loads += 1
        if not self._logged_in(request):
            return HTMLResponse(login_page(self.config.title))
        return HTMLResponse(chat_page(self.config.title))

    async def _login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        user = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        if user != self.config.username or password != self.config.password:
            self.outcomes["login_refused"] += 1
            return HTMLResponse(login_page(self.config.title, "Wrong user or password."), 401)
        token = secrets.token_urlsafe(16)
        self.sessions.add(token)
        self.outcomes["login"] += 1
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(_COOKIE, token, httponly=True, samesite="lax")
        return response

    async def _chat(self, request: Request) -> Response:
        if not self._logged_in(request):
            self.outcomes["unauthorized"] += 1
            return JSONResponse({"error": "log in"}, status_code=401)
        body = await request.json()
        text = str(body.get("message", ""))
        self.sends += 1
        if self.sends == self.config.expire_sessions_after:
            self.sessions.clear()  # this send is answered; the next one is refused
        self.sent_at.append(time.monotonic())
        self.by_text[text] += 1
        fault = self._fault(text, self.by_text[text])
        if fault == "ratelimit" or self.sends <= self.config.rate_limited_sends:
            self.outcomes["rate_limited"] += 1
            return JSONResponse({"retry_after": self.config.retry_after_s}, status_code=429)
        if fault == "stall":  # no answer at all, not even its headers: only "typing…"
            self.outcomes["stalled"] += 1
            await asyncio.sleep(3600)  # until the client goes away (or the site stops)
        return StreamingResponse(self._stream(text, fault), media_type="application/x-ndjson")

    def _fault(self, text: str, nth: int) -> str | None:
        """The directive fault that applies to the ``nth`` send of ``text``, if any."""
        budget = 0
        for kind, times in _FAULT.findall(text):
            budget += int(times)
            if nth <= budget:
                return str(kind)
        if nth == 1:
            draw = int.from_bytes(
                hashlib.sha256(f"{self.config.seed}:{text}".encode()).digest()[:8]
            )
            share = draw / 2**64
            if share < self.config.hang_rate:
                return "hang"
            if share < self.config.hang_rate + self.config.reload_rate:
                return "reload"
        return None

    async def _stream(self, text: str, fault: str | None) -> AsyncIterator[bytes]:
        self.streaming += 1
        self.max_streaming = max(self.max_streaming, self.streaming)
        try:
            found = _ANSWER.search(text)
            answer = found.group(1) if found else text.strip()
            latency = _LATENCY.search(text)
            first = float(latency.group(1)) if latency else self.config.first_token_ms
            if first:
                await asyncio.sleep(first / 1000)

            tokens = _TOKEN.findall(answer) or [""]
            cut = max(1, len(tokens) // 2) if fault in ("hang", "reload") else len(tokens)
            low, high = self.config.pause_ms
            for token in tokens[:cut]:
                yield (json.dumps({"t": token}) + "\n").encode()
                await asyncio.sleep(self._random.uniform(low, high) / 1000)
            if fault == "hang":
                self.outcomes["hung"] += 1
                await asyncio.sleep(3600)  # until the client goes away (or the site stops)
            if fault == "reload":
                self.outcomes["reloaded"] += 1
                yield b'{"reload": true}\n'
                return
            for token in tokens[cut:]:
                yield (json.dumps({"t": token}) + "\n").encode()
                await asyncio.sleep(self._random.uniform(low, high) / 1000)
            self.outcomes["completed"] += 1
        finally:
            self.streaming -= 1


@contextlib.contextmanager
def run_chat_site_in_thread(config: ChatSiteConfig | None = None) -> Iterator[ChatSite]:
    """Serve the site on ``127.0.0.1`` (a free port) from a daemon thread."""
    import uvicorn

    site = ChatSite(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    site.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(site.app, log_level="error", lifespan="off", timeout_graceful_shutdown=1)
    )
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=serve, name="evalbook-chat-site", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if failure:
        raise failure[0]
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def stats(site: ChatSite) -> dict[str, Any]:
    """The counters in one mapping (for the benchmark's report)."""
    return {
        "sends": site.sends,
        "page_loads": site.page_loads,
        "max_streaming": site.max_streaming,
        **dict(site.outcomes),
    }
