"""A key holder cannot make the server call its own network through a model endpoint: only
http(s), only public hosts unless the operator allowed them, checked when the run is sent
and again at every connection the worker opens.

Every address here is loopback (``127.0.0.2`` is a loopback alias, ``localhost`` resolves
from /etc/hosts); the other addresses are refused before anything connects, which the
tests show by the refusal itself, never by sending to them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunRecord
from evalbook.errors import ConfigError
from evalbook.providers.base import GenerateRequest
from evalbook.providers.endpoints import (
    ALLOW_ENV,
    EndpointRefused,
    HostPolicy,
    address_refusal,
    check_endpoint,
    guarded,
    ip_literal,
)
from evalbook.providers.openai_compat import OpenAICompatibleProvider
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.testing import OpenAICompatibleTestServer, run_test_server_in_thread
from evalbook.worker.claimed import execute_claimed
from tests.server.resources import post_suite, suite_data


@pytest.fixture
def alias_server() -> Iterator[OpenAICompatibleTestServer]:
    """A model server on the loopback alias 127.0.0.2."""
    with run_test_server_in_thread(host="127.0.0.2") as server:
        yield server


def _url(server: OpenAICompatibleTestServer, host: str = "127.0.0.2") -> str:
    return f"http://{host}:{server.port}/v1"


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ("openai-compatible:m@file:///etc/passwd", "only http and https"),
        ("openai-compatible:m@ftp://10.1.2.3/v1", "only http and https"),
        (
            {"provider": "openai-compatible", "name": "m", "base_url": "http://u:p@8.8.8.8/v1"},
            "credentials",
        ),
        ("openai-compatible:m@http://127.0.0.2:9/v1", "loopback"),
        ("openai-compatible:m@http://localhost:9/v1", "loopback"),
        ("openai-compatible:m@http://169.254.169.254/latest", "link-local"),
        ("openai-compatible:m@http://10.0.0.7:8000/v1", "private"),
        ("openai-compatible:m@http://[::ffff:192.168.1.1]/v1", "private"),
        ("openai-compatible:m@http://[fd00::1]/v1", "private"),
        ("openai-compatible:m@http://0.0.0.0:8000/v1", "unspecified"),
        ("vllm:m", "127.0.0.1"),  # the default endpoints are held to the same policy
        ("ollama:m", "127.0.0.1"),
    ],
)
async def test_endpoints_off_the_allowlist_are_refused_when_the_run_is_sent(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, model: object, why: str
) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    assert (await post_suite(api, suite_data())).status_code == 201
    answer = await api.post("/api/runs", json={"suite_id": "qa", "model": model})
    assert answer.status_code == 422, answer.text
    assert why in answer.text
    assert (await api.get("/api/runs")).json()["items"] == []  # nothing was queued


async def test_an_allowed_host_is_served(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch,
    alias_server: OpenAICompatibleTestServer,
) -> None:  # fmt: skip
    monkeypatch.setenv(ALLOW_ENV, f"127.0.0.2:{alias_server.port}")
    assert (await post_suite(api, suite_data())).status_code == 201
    other_port = await api.post(
        "/api/runs", json={"suite_id": "qa", "model": "openai-compatible:m@http://127.0.0.2:9/v1"}
    )
    assert other_port.status_code == 422  # the allowance is for that port only
    model = f"openai-compatible:m@{_url(alias_server)}"
    sent = await api.post("/api/runs", json={"suite_id": "qa", "model": model})
    assert sent.status_code == 202, sent.text
    run = await _execute(store)
    assert run.status == "completed" and run.counts.errored == 0
    assert alias_server.requests == 4


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost"])
async def test_the_worker_checks_again_at_connect_time(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch,
    alias_server: OpenAICompatibleTestServer, host: str,
) -> None:  # fmt: skip
    """Accepted while the host was allowed, executed after it no longer is (as when a name
    resolves elsewhere by then): the worker refuses to connect and records why."""
    with run_test_server_in_thread(host="127.0.0.1") as local:
        server = alias_server if host == "127.0.0.2" else local
        monkeypatch.setenv(ALLOW_ENV, host)
        assert (await post_suite(api, suite_data())).status_code == 201
        model = f"openai-compatible:m@{_url(server, host)}"
        sent = await api.post("/api/runs", json={"suite_id": "qa", "model": model})
        assert sent.status_code == 202, sent.text
        monkeypatch.setenv(ALLOW_ENV, "")
        run = await _execute(store)
        assert server.requests == 0 and local.requests == 0
    assert run.passed is False and run.counts.errored == 4
    errors = {r.error_message for r in store.iter_results(run.id)}
    assert len(errors) == 1 and "refused to connect" in str(errors.pop())


async def _execute(store: Store) -> RunRecord:
    run_id = queue.claim(store, "worker-1", lease_s=30)
    assert run_id is not None
    await execute_claimed(store, run_id, "worker-1", lease_s=30)
    return store.get_run(run_id)


async def test_connections_outside_a_guard_are_the_cli_s_own(
    alias_server: OpenAICompatibleTestServer,
) -> None:
    """The CLI trusts its user: the same provider connects anywhere outside a guard, and
    inside one connects only where the policy allows."""
    config = ModelConfig(provider="openai-compatible", name="m", base_url=_url(alias_server))
    request = GenerateRequest(messages=[Message(role="user", content="hi")], config=config)
    provider = OpenAICompatibleProvider(config)
    try:
        assert (await provider.generate(request)).text
    finally:
        await provider.aclose()
    with guarded(HostPolicy()):
        provider = OpenAICompatibleProvider(config)
        try:
            with pytest.raises(EndpointRefused, match=r"127\.0\.0\.2"):
                await provider.generate(request)
        finally:
            await provider.aclose()
    with guarded(HostPolicy(frozenset({"127.0.0.2"}))):
        provider = OpenAICompatibleProvider(config)
        try:
            assert (await provider.generate(request)).text
        finally:
            await provider.aclose()
    assert alias_server.requests == 2


def test_address_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {
        "127.0.0.2": "loopback", "::1": "loopback", "10.1.1.1": "private",
        "172.16.0.1": "private", "192.168.0.1": "private", "100.64.0.1": "not globally routable",
        "169.254.169.254": "link-local", "fe80::1": "link-local", "0.0.0.0": "unspecified",
        "::ffff:127.0.0.1": "loopback", "64:ff9b::a00:1": "private", "2002:a00:1::": "private",
        "224.0.0.1": "multicast",
    }  # fmt: skip
    for text, reason in refused.items():
        address = ip_literal(text)
        assert address is not None and address_refusal(address) == reason, text
    assert address_refusal(ip_literal("8.8.8.8")) is None  # type: ignore[arg-type]
    policy = HostPolicy(frozenset({"10.1.1.1", "localhost:8000"}))
    check_endpoint("http://10.1.1.1:1234/v1", "m", policy)
    check_endpoint("http://LOCALHOST:8000/v1", "m", policy)
    with pytest.raises(ConfigError, match="loopback"):
        check_endpoint("http://localhost:8001/v1", "m", policy)
    monkeypatch.setenv(ALLOW_ENV, "host:port")
    with pytest.raises(ConfigError, match="HOST or HOST:PORT"):
        HostPolicy.from_env()
