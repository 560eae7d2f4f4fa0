"""Tests for the local OpenAI/Anthropic-compatible test server (real HTTP, loopback only)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from evalbook.testing import (
    OpenAICompatibleTestServer,
    TestServerConfig,
    content_key,
    run_test_server_in_thread,
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[OpenAICompatibleTestServer]:
    with run_test_server_in_thread(TestServerConfig(retry_after=2)) as srv:
        yield srv


@pytest.fixture
def server(shared_server: OpenAICompatibleTestServer) -> OpenAICompatibleTestServer:
    shared_server.reset()  # counters and per-key fault history start from zero in each test
    return shared_server


@pytest.fixture(scope="module")
def shared_client(shared_server: OpenAICompatibleTestServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_server.base_url, timeout=5) as c:
        yield c


@pytest.fixture
def client(server: OpenAICompatibleTestServer, shared_client: httpx.Client) -> httpx.Client:
    return shared_client


def chat(content: Any, model: str = "test-model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def answer_of(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    content = resp.json()["choices"][0]["message"]["content"]
    assert isinstance(content, str)
    return content


def test_echo_and_answer_directive(client: httpx.Client) -> None:
    assert answer_of(client.post("/chat/completions", json=chat("  hello world \n"))) == (
        "hello world"
    )
    parts = [{"type": "text", "text": "what is 2+2?"}, {"type": "text", "text": "[[answer=4]]"}]
    resp = client.post("/chat/completions", json=chat(parts, temperature=0, seed=1))
    assert answer_of(resp) == "4"
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "test-model"
    assert body["system_fingerprint"] == "fp_evalbook_test"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)


def test_answer_comes_from_last_user_message(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "first [[answer=nope]]"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    resp = client.post("/chat/completions", json={"model": "m", "messages": messages})
    assert answer_of(resp) == "second"


def test_usage_counts_words(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "be brief please"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "one two"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "text", "text": "[[answer=a b c d e]]"},
            ],
        },
    ]
    usage = client.post("/chat/completions", json={"model": "m", "messages": messages}).json()[
        "usage"
    ]
    assert usage == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    empty = client.post("/chat/completions", json=chat("")).json()["usage"]
    assert empty == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def test_fail_directive_is_counted_per_content_key(
    server: OpenAICompatibleTestServer, client: httpx.Client
) -> None:
    req = chat("[[fail=500:2]] hi")
    statuses = [client.post("/chat/completions", json=req).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert client.post("/chat/completions", json=chat("[[fail=500:2]] other")).status_code == 500
    err = client.post("/chat/completions", json=chat("[[fail=401:999]]")).json()
    assert err["error"]["code"] == "invalid_api_key"
    assert set(err["error"]) >= {"message", "type", "code"}
    key = content_key("/v1/chat/completions", "test-model", req["messages"])
    assert server.by_key[key] == 3
    assert server.by_status == {500: 3, 200: 1, 401: 1}
    assert server.faults == {"500": 3, "401": 1}
    assert server.requests == 5


def test_fault_directives_chain_in_text_order(client: httpx.Client) -> None:
    req = chat("[[fail=429:1]][[malformed:1]][[fail=503:1]] x")
    statuses = [client.post("/chat/completions", json=req).status_code for _ in range(4)]
    assert statuses == [429, 200, 503, 200]


def test_429_carries_retry_after(client: httpx.Client) -> None:
    resp = client.post("/chat/completions", json=chat("[[fail=429:1]]"))
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "2"
    assert resp.json()["error"]["code"] == "rate_limit_exceeded"


def test_reset_aborts_connection(server: OpenAICompatibleTestServer, client: httpx.Client) -> None:
    req = chat("[[reset:1]] hi")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/chat/completions", json=req)
    assert answer_of(client.post("/chat/completions", json=req)) == "[[reset:1]] hi"
    assert server.faults == {"reset": 1}
    assert server.by_status == {200: 1}


def test_malformed_returns_invalid_json(client: httpx.Client) -> None:
    resp = client.post("/chat/completions", json=chat("[[malformed:1]]"))
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)
    assert answer_of(client.post("/chat/completions", json=chat("[[malformed:1]]")))


def test_hang_directive_times_out_then_succeeds() -> None:
    with (
        run_test_server_in_thread(TestServerConfig(hang_seconds=2)) as srv,
        httpx.Client(base_url=srv.base_url, timeout=0.25) as c,
    ):
        with pytest.raises(httpx.ReadTimeout):
            c.post("/chat/completions", json=chat("[[hang:1]] slow"))
        assert answer_of(c.post("/chat/completions", json=chat("[[hang:1]] slow")))
        assert srv.faults == {"timeout": 1}


def test_latency_directive_and_global_latency() -> None:
    with (
        run_test_server_in_thread(TestServerConfig(latency_ms=30)) as srv,
        httpx.Client(base_url=srv.base_url) as c,
    ):
        t0 = time.perf_counter()
        c.post("/chat/completions", json=chat("x"))
        assert time.perf_counter() - t0 >= 0.03
        t0 = time.perf_counter()
        c.post("/chat/completions", json=chat("[[latency=120]] x"))
        assert time.perf_counter() - t0 >= 0.12


def test_random_injection_respects_max_failures_per_key() -> None:
    config = TestServerConfig(fail_rate=1.0, max_failures_per_key=2, fault_kinds=("429", "503"))
    with run_test_server_in_thread(config) as srv, httpx.Client(base_url=srv.base_url) as c:
        statuses = [c.post("/chat/completions", json=chat("q1")).status_code for _ in range(3)]
        assert set(statuses[:2]) <= {429, 503}
        assert statuses[2] == 200
        assert c.post("/chat/completions", json=chat("q2")).status_code in {429, 503}
        assert sum(srv.faults.values()) == 3


def test_random_injection_is_seeded_and_covers_network_faults() -> None:
    def run() -> list[str]:
        config = TestServerConfig(fail_rate=0.5, seed=3, hang_seconds=2, max_failures_per_key=1)
        outcomes = []
        with (
            run_test_server_in_thread(config) as srv,
            httpx.Client(base_url=srv.base_url, timeout=0.2) as c,
        ):
            for i in range(12):
                try:
                    resp = c.post("/chat/completions", json=chat(f"q{i}"))
                    json.loads(resp.content)
                    outcomes.append(str(resp.status_code))
                except json.JSONDecodeError:
                    outcomes.append("malformed")
                except httpx.TimeoutException:
                    outcomes.append("timeout")
                except httpx.TransportError:
                    outcomes.append("reset")
            assert sum(srv.faults.values()) == sum(o != "200" for o in outcomes)
        return outcomes

    first = run()
    print(first)
    assert first == run()
    assert {"200", "reset", "malformed"} <= set(first)


def test_api_key_enforced_on_both_endpoints() -> None:
    config = TestServerConfig(required_api_key="sekrit")
    msg = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with run_test_server_in_thread(config) as srv, httpx.Client(base_url=srv.base_url) as c:
        resp = c.post("/chat/completions", json=chat("hi"))
        assert resp.status_code == 401
        assert resp.json()["error"]["type"] == "invalid_request_error"
        bad = {"Authorization": "Bearer wrong"}
        assert c.post("/chat/completions", json=chat("hi"), headers=bad).status_code == 401
        ok = {"Authorization": "Bearer sekrit"}
        assert answer_of(c.post("/chat/completions", json=chat("hi"), headers=ok)) == "hi"
        assert c.get("/models").status_code == 401

        resp = c.post("/messages", json=msg)
        assert resp.status_code == 401
        assert resp.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid or missing API key"},
        }
        assert c.post("/messages", json=msg, headers={"x-api-key": "sekrit"}).status_code == 200


def test_anthropic_messages_shape(client: httpx.Client) -> None:
    req = {
        "model": "claude-test",
        "system": "you are terse",
        "max_tokens": 16,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "ping [[answer=pong]]"}]}
        ],
    }
    body = client.post("/messages", json=req).json()
    assert body["id"].startswith("msg_")
    del body["id"]
    assert body == {
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": "pong"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    err = client.post(
        "/messages", json={**req, "messages": [{"role": "user", "content": "[[fail=529:1]]"}]}
    )
    assert err.status_code == 529
    assert err.json()["error"]["type"] == "overloaded_error"


def test_stats_and_reset_endpoints(
    server: OpenAICompatibleTestServer, client: httpx.Client
) -> None:
    client.post("/chat/completions", json=chat("[[fail=503:1]] a"))
    client.post("/chat/completions", json=chat("[[fail=503:1]] a"))
    stats = client.get("/_stats").json()
    key = content_key("/v1/chat/completions", "test-model", chat("[[fail=503:1]] a")["messages"])
    assert stats == {
        "requests": 2,
        "by_status": {"200": 1, "503": 1},
        "faults": {"503": 1},
        "by_key": {key: 2},
    }
    assert stats == server.stats()
    assert client.post("/_reset").status_code == 200
    assert server.stats() == {"requests": 0, "by_status": {}, "faults": {}, "by_key": {}}
    # history is forgotten too: the directive fires again
    assert client.post("/chat/completions", json=chat("[[fail=503:1]] a")).status_code == 503
    server.reset()
    assert server.requests == 0


def test_keep_alive_reuses_one_connection(client: httpx.Client) -> None:
    peers = set()
    for i in range(5):
        resp = client.post("/chat/completions", json=chat(f"n{i}"))
        assert answer_of(resp) == f"n{i}"
        peers.add(resp.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(peers) == 1


def test_raw_pipelined_requests_and_connection_close(server: OpenAICompatibleTestServer) -> None:
    body = json.dumps(chat("raw")).encode()
    req = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(req + b"\r\n" + body + req + b"Connection: close\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):  # returns b"" only because the server closes
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert data.count(b"Connection: close") == 1


def test_not_found_bad_json_and_models(client: httpx.Client) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "invalid_request_error"
    resp = client.post(
        "/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert set(resp.json()["error"]) >= {"message", "type", "code"}
    assert client.post("/chat/completions", json={"model": "m"}).status_code == 400
    assert client.post("/messages", content=b"[]").json()["type"] == "error"
    models = client.get("/models").json()
    assert [m["id"] for m in models["data"]] == ["test-model"]


def test_served_model_and_fingerprint_override() -> None:
    config = TestServerConfig(served_model="served", system_fingerprint="fp_x")
    with run_test_server_in_thread(config) as srv, httpx.Client(base_url=srv.base_url) as c:
        body = c.post("/chat/completions", json=chat("hi", model="asked")).json()
        assert (body["model"], body["system_fingerprint"]) == ("served", "fp_x")


def test_openai_sdk_sync(server: OpenAICompatibleTestServer) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as sdk:
        completion = sdk.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "say [[answer=hello sdk]]"}]
        )
        assert completion.choices[0].message.content == "hello sdk"
        assert completion.model == "gpt-test"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == 2
        with pytest.raises(openai.RateLimitError):
            sdk.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "[[fail=429:1]]"}]
            )
        assert [m.id for m in sdk.models.list()] == ["test-model"]


async def test_openai_sdk_async_against_async_api() -> None:
    srv = OpenAICompatibleTestServer(TestServerConfig(hang_seconds=30))
    await srv.start()
    try:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="x", max_retries=0) as sdk:
            completion = await sdk.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "async hi"}]
            )
            assert completion.choices[0].message.content == "async hi"
            with pytest.raises(openai.APITimeoutError):
                await sdk.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "[[hang:1]]"}], timeout=0.2
                )
    finally:
        t0 = time.perf_counter()
        await srv.stop()  # must not wait for the hung request
        assert time.perf_counter() - t0 < 1
    assert srv.stats()["requests"] == 2


def test_anthropic_sdk(server: OpenAICompatibleTestServer) -> None:
    with anthropic.Anthropic(base_url=server.root_url, api_key="x", max_retries=0) as sdk:
        message = sdk.messages.create(
            model="claude-test",
            max_tokens=32,
            system="sys prompt",
            messages=[{"role": "user", "content": "hello claude"}],
        )
        assert message.content[0].type == "text"
        assert message.content[0].text == "hello claude"
        assert message.stop_reason == "end_turn"
        assert (message.usage.input_tokens, message.usage.output_tokens) == (4, 2)
        with pytest.raises(anthropic.RateLimitError):
            sdk.messages.create(
                model="claude-test",
                max_tokens=32,
                messages=[{"role": "user", "content": "[[fail=429:1]]"}],
            )


def test_cli_serves_and_exits_on_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "evalbook.testing.openai_server", "--port", "0"),
            *("--port-file", str(port_file), "--latency-ms", "1", "--retry-after", "3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        port = int(port_file.read_text())
        assert line == f"listening on http://127.0.0.1:{port}/v1"
        resp = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions", json=chat("[[fail=429:1]]")
        )
        assert (resp.status_code, resp.headers["retry-after"]) == (429, "3")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="fail_rate"):
        TestServerConfig(fail_rate=1.5)
    with pytest.raises(ValueError, match="fault kind"):
        TestServerConfig(fault_kinds=("boom",))
    assert TestServerConfig(fault_kinds=("502", "timeout")).fault_kinds == ("502", "timeout")


async def test_max_in_flight_counts_concurrent_requests(
    server: OpenAICompatibleTestServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        replies = await asyncio.gather(
            *(c.post("/chat/completions", json=chat(f"[[latency=100]] {i}")) for i in range(3))
        )
        assert all(r.status_code == 200 for r in replies)
        assert server.max_in_flight == 3
        server.reset()
        assert server.max_in_flight == 0
        await c.post("/chat/completions", json=chat("one"))
        assert server.max_in_flight == 1
