"""A local OpenAI/Anthropic-compatible HTTP server for tests and benchmarks.

Why hand-rolled on ``asyncio`` streams: the benchmarks push 10k requests at concurrency 100
through it on a 2-core box next to the client, so every framework layer costs real CPU.
HTTP/1.1 with keep-alive and Content-Length bodies is all the provider SDKs need.

Why deterministic: answers and faults are functions of the request content, and faults are
counted per *content key* (a hash of path, model, messages, system), so a retrying client
sees the same sequence of failures on every run and tests can assert exact final outcomes.

Directives in the last user message: ``[[answer=TEXT]]`` (answer TEXT, otherwise the text is
echoed, whitespace-stripped), ``[[latency=MS]]``, and fault directives applied in textual
order to the first requests of a key: ``[[fail=STATUS:N]]``, ``[[malformed:N]]``,
``[[reset:N]]``, ``[[hang:N]]`` (``[[fail=429:1]][[reset:1]]`` = 429, then reset, then ok).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from evalbook.testing.hf_inference import HF_MODELS, hf_error, hf_reply, hf_request

ALL_FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "timeout", "reset", "malformed")
_SPECIAL_KINDS = frozenset({"timeout", "reset", "malformed"})
_CHAT, _MESSAGES, _MODELS = "/v1/chat/completions", "/v1/messages", "/v1/models"
_FAULT_RE = re.compile(r"\[\[(fail=(\d{3})|malformed|reset|hang):(\d+)\]\]")
_ANSWER_RE = re.compile(r"\[\[answer=(.*?)\]\]", re.DOTALL)
_LATENCY_RE = re.compile(r"\[\[latency=(\d+(?:\.\d+)?)\]\]")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Server Error", 503: "Unavailable"}  # fmt: skip
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                 404: "invalid_request_error", 429: "rate_limit_exceeded"}  # fmt: skip
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                    403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                    503: "overloaded_error", 529: "overloaded_error"}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TestServerConfig:
    """Global behaviour; per-request behaviour comes from directives in the prompt."""

    __test__ = False  # not a pytest test class despite the name

    latency_ms: float = 0.0
    fail_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ALL_FAULT_KINDS
    max_failures_per_key: int = 3
    seed: int | None = 0
    retry_after: float = 0.0
    required_api_key: str | None = None
    served_model: str | None = None
    system_fingerprint: str = "fp_evalbook_test"
    hang_seconds: float = 30.0
    #: Keep every model request's raw body (``server.bodies``): what a client sent, byte
    #: for byte, for tests of prompt fidelity. Off by default (benchmarks send 100k).
    record_bodies: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be in [0, 1], got {self.fail_rate}")
        for kind in self.fault_kinds:
            if kind not in _SPECIAL_KINDS and not (kind.isdigit() and 400 <= int(kind) <= 599):
                raise ValueError(f"unknown fault kind {kind!r}")
        if self.fail_rate > 0 and not self.fault_kinds:
            raise ValueError("fail_rate > 0 needs at least one fault kind")


_Reply = tuple[int, bytes, dict[str, str]] | None


class _BadRequest(Exception):
    """Raised while parsing a request body; becomes a 400 response."""


def content_key(path: str, model: Any, messages: Any, system: Any = None) -> str:
    """The per-request identity used for fault counting (same for every retry of a request)."""
    canon = json.dumps([path, model, messages, system], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content: a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(str(p.get("text", "")) for p in parts)
    return ""


def _words(text: str) -> int:
    return max(1, len(text.split()))


class OpenAICompatibleTestServer:
    """Serves /v1/chat/completions, /v1/messages, /v1/models, /models/MODEL (Hugging
    Face text generation, see ``hf_inference.py``), /_stats and /_reset.

    Counters are guarded by a lock so a test thread can read or reset them while the
    server runs on its own loop (see :func:`run_test_server_in_thread`).
    """

    __test__ = False

    def __init__(self, config: TestServerConfig | None = None) -> None:
        self.config = config or TestServerConfig()
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self._requests = 0
        self._by_status: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._by_key: Counter[str] = Counter()
        self._random_faults: Counter[str] = Counter()
        self._bodies: list[bytes] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._started: list[float] = []
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._host = "127.0.0.1"
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, host, port, limit=1 << 20)
        self._host, self._port = host, self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and cancel live connections (hung requests included)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        """Server root, e.g. for ``anthropic.Anthropic(base_url=...)``."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL ending in ``/v1``."""
        return f"{self.root_url}/v1"

    # -- counters --------------------------------------------------------------------------
    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    @property
    def faults(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults)

    @property
    def by_key(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_key)

    @property
    def max_in_flight(self) -> int:
        """The most model requests answered at once since the last reset: what a test of a
        client-side connection limit checks."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight(self) -> int:
        """Model requests being answered now."""
        with self._lock:
            return self._in_flight

    def most_in_window(self, seconds: float) -> int:
        """The most model requests that arrived within any ``seconds`` since the last
        reset: what a test of a requests-per-minute limit checks."""
        with self._lock:
            times = sorted(self._started)
        most, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    def stats(self) -> dict[str, Any]:
        """Snapshot in the ``GET /_stats`` shape (status codes as string keys)."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
                "faults": dict(self._faults),
                "by_key": dict(self._by_key),
            }

    @property
    def bodies(self) -> list[bytes]:
        """Raw bodies of the model requests since the last reset (``record_bodies``)."""
        with self._lock:
            return list(self._bodies)

    def reset(self) -> None:
        """Clear counters and per-key fault history and reseed the RNG."""
        with self._lock:
            self._requests = 0
            self._bodies.clear()
            self._by_status.clear()
            self._faults.clear()
            self._by_key.clear()
            self._random_faults.clear()
            self._max_in_flight = self._in_flight
            self._started.clear()
            self._rng = random.Random(self.config.seed)

    # -- HTTP ------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            pass  # from stop(); must not propagate: 3.11's streams callback chokes on it
        finally:
            self._conns.discard(task)
            writer.close()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # client closed an idle keep-alive connection
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                await self._send(writer, 400, _error_body(400, "bad request line", False), False)
                return
            method, target, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            conn = headers.get("connection", "").lower()
            keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            length = headers.get("content-length", "0")
            if not length.isdigit() or "transfer-encoding" in headers:
                err = _error_body(400, "need a Content-Length body (no chunked)", False)
                await self._send(writer, 400, err, False)
                return
            body = await reader.readexactly(int(length)) if length != "0" else b""
            path = target.split("?", 1)[0]
            try:
                result = await self._dispatch(method, path, headers, body)
            except Exception as exc:  # a bug here must not look like a network fault
                result = (500, _error_body(500, f"test server error: {exc!r}", False), {})
            if result is None:  # injected reset: RST (linger 0) with no response at all
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            status, payload, extra = result
            await self._send(writer, status, payload, keep_alive, extra)
            if not keep_alive:
                return

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, body: bytes, keep_alive: bool, extra: Any = ()
    ) -> None:
        """One write per response: status line, headers and body together."""
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        if not keep_alive:
            head += "Connection: close\r\n"
        for name, value in dict(extra).items():
            head += f"{name}: {value}\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()

    # -- application -----------------------------------------------------------------------
    async def _dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> _Reply:
        """Return (status, body, extra headers), or None to abort the connection."""
        if path.startswith("/v1/_"):  # control routes also answer under an OpenAI base URL
            path = path[3:]
        if path == "/_stats" and method == "GET":
            return 200, json.dumps(self.stats()).encode(), {}
        if path == "/_reset" and method == "POST":
            self.reset()
            return 200, b'{"ok":true}', {}
        with self._lock:
            self._requests += 1
            if self.config.record_bodies:
                self._bodies.append(body)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._started.append(time.monotonic())
        try:
            result = await self._route(method, path, headers, body, path == _MESSAGES)
        finally:
            with self._lock:
                self._in_flight -= 1
        if result is not None:
            with self._lock:
                self._by_status[result[0]] += 1
        return result

    async def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes, anthropic: bool
    ) -> _Reply:
        if method == "POST" and path.startswith("/v1" + HF_MODELS):
            path = path[3:]  # Hugging Face's route under an OpenAI base URL (--base-url)
        hf = method == "POST" and path.startswith(HF_MODELS)
        if not hf and (method, path) not in {
            ("POST", _CHAT),
            ("POST", _MESSAGES),
            ("GET", _MODELS),
        }:
            return 404, _error_body(404, f"no route for {method} {path}", anthropic), {}
        if (wanted := self.config.required_api_key) is not None:
            given = headers.get("x-api-key") if anthropic else None
            if given is None:
                scheme, _, token = headers.get("authorization", "").partition(" ")
                given = token.strip() if scheme.lower() == "bearer" else None
            if given != wanted:
                return 401, _error_body(401, "invalid or missing API key", anthropic), {}
        if hf:
            return await self._hf_generate(path, body)
        if path == _MODELS:
            entry = {"id": "test-model", "object": "model", "created": 0, "owned_by": "evalbook"}
            return 200, json.dumps({"object": "list", "data": [entry]}).encode(), {}
        try:
            req = json.loads(body)
            if not isinstance(req, dict):
                raise _BadRequest("request body must be a JSON object")
            model, messages, system = req.get("model"), req.get("messages"), req.get("system")
            if not isinstance(model, str) or not isinstance(messages, list):
                raise _BadRequest("'model' (string) and 'messages' (array) are required")
            if not all(isinstance(m, dict) for m in messages):
                raise _BadRequest("each message must be an object")
        except (ValueError, _BadRequest) as exc:
            return 400, _error_body(400, f"invalid request: {exc}", anthropic), {}
        return await self._complete(path, model, messages, system, anthropic)

    async def _hf_generate(self, path: str, body: bytes) -> _Reply:
        """Hugging Face text-generation, answered as a chat of one user message."""
        try:
            inputs, params = hf_request(body)
        except ValueError as exc:
            return 400, json.dumps({"error": f"invalid request: {exc}"}).encode(), {}
        model = path[len(HF_MODELS) :]
        reply = await self._complete(
            path, model, [{"role": "user", "content": inputs}], None, False
        )
        if reply is None:
            return None
        status, payload, extra = reply
        if status != 200:
            return status, hf_error(status, payload), extra
        return status, hf_reply(payload, inputs, params), extra

    def _pick_fault(self, key: str, text: str) -> str | None:
        """Count the request against its key; directives first, then the random injector."""
        cfg = self.config
        with self._lock:
            self._by_key[key] += 1
            seen, budget, fault = self._by_key[key], 0, None
            for m in _FAULT_RE.finditer(text) if "[[" in text else ():
                budget += int(m.group(3))
                if seen <= budget:
                    fault = m.group(2) or ("timeout" if m.group(1) == "hang" else m.group(1))
                    break
            if (
                fault is None
                and cfg.fail_rate > 0
                and self._random_faults[key] < cfg.max_failures_per_key
                and self._rng.random() < cfg.fail_rate
            ):
                self._random_faults[key] += 1
                fault = self._rng.choice(cfg.fault_kinds)
            if fault is not None:
                self._faults[fault] += 1
            return fault

    async def _complete(
        self, path: str, model: str, messages: list[dict[str, Any]], system: Any, anthropic: bool
    ) -> _Reply:
        cfg = self.config
        last_user: dict[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {}
        )
        text = _text_of(last_user.get("content"))
        fault = self._pick_fault(content_key(path, model, messages, system), text)
        latency = cfg.latency_ms
        if "[[" in text and (lat := _LATENCY_RE.search(text)):
            latency = float(lat.group(1))
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)
        if fault == "reset":
            return None
        if fault == "timeout":
            await asyncio.sleep(cfg.hang_seconds)  # then answer late, as a stuck server would
        elif fault is not None and fault != "malformed":
            status = int(fault)
            retry = {"Retry-After": f"{cfg.retry_after:g}"} if status == 429 else {}
            return status, _error_body(status, f"injected fault {status}", anthropic), retry

        found = _ANSWER_RE.search(text) if "[[" in text else None
        answer = found.group(1) if found else text.strip()
        prompt = [_text_of(m.get("content")) for m in messages]
        if anthropic:
            prompt.append(system if isinstance(system, str) else _text_of(system))
        n_in, n_out, n = _words(" ".join(prompt)), _words(answer), next(self._ids)
        model = cfg.served_model or model
        resp: dict[str, Any]
        if anthropic:
            resp = {"id": f"msg_evalbook_{n:08d}", "type": "message", "role": "assistant",
                    "model": model, "content": [{"type": "text", "text": answer}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": n_in, "output_tokens": n_out}}  # fmt: skip
        else:
            choice = {"index": 0, "message": {"role": "assistant", "content": answer},
                      "logprobs": None, "finish_reason": "stop"}  # fmt: skip
            usage = {
                "prompt_tokens": n_in,
                "completion_tokens": n_out,
                "total_tokens": n_in + n_out,
            }
            resp = {"id": f"chatcmpl-evalbook-{n:08d}", "object": "chat.completion",
                    "created": int(time.time()), "model": model,
                    "system_fingerprint": cfg.system_fingerprint, "choices": [choice],
                    "usage": usage}  # fmt: skip
        payload = json.dumps(resp).encode()
        if fault == "malformed":
            payload = payload[: len(payload) // 2] + b"<<malformed"
        return 200, payload, {}


def _error_body(status: int, message: str, anthropic: bool) -> bytes:
    """Error JSON in the shape the endpoint's official SDK parses."""
    if anthropic:
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
    kind = _OPENAI_TYPES.get(status, "server_error")
    code = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded"}.get(status)
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}
    ).encode()


@contextlib.contextmanager
def run_test_server_in_thread(
    config: TestServerConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[OpenAICompatibleTestServer]:
    """Run the server on its own event loop in a daemon thread.

    Why: synchronous tests, and tests that drive a subprocess, need a server that keeps
    answering while the test's own thread blocks.
    """
    server = OpenAICompatibleTestServer(config)
    ready = threading.Event()
    failure: list[BaseException] = []
    loop_box: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        try:
            await server.start(host, port)
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        loop_box.append((asyncio.get_running_loop(), stop))
        ready.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.name = "evalbook-test-server"
    thread.start()
    ready.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield server
    finally:
        loop, stop = loop_box[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """One ``--flag`` per :class:`TestServerConfig` field, so the two never drift apart."""
    p = argparse.ArgumentParser(description="Local OpenAI/Anthropic-compatible test server.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--port-file", help="write the bound port here once listening")
    for field in dataclasses.fields(TestServerConfig):
        default = field.default
        if isinstance(default, tuple):  # fault_kinds: comma-separated on the command line
            default = ",".join(default)
        kind = str if default is None else type(default)
        p.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=default)
    return p.parse_args(argv)


async def _serve_forever(args: argparse.Namespace) -> None:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TestServerConfig)}
    values["fault_kinds"] = tuple(k.strip() for k in values["fault_kinds"].split(",") if k.strip())
    config = TestServerConfig(**values)
    server = OpenAICompatibleTestServer(config)
    await server.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.port_file:  # write-then-rename so a poller never reads a half-written file
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening on {server.base_url}", flush=True)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_serve_forever(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
