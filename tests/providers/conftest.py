"""Fixtures for provider tests: test servers with special settings, and each transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evalbook.testing import OpenAICompatibleTestServer, TestServerConfig, run_test_server_in_thread

RIGHT_KEY = "sk-right-secret-9876543210"


@pytest.fixture(scope="module")
def fault_server() -> Iterator[OpenAICompatibleTestServer]:
    """Sends ``Retry-After: 2`` on 429 and hangs 5 s on ``[[hang:N]]``."""
    with run_test_server_in_thread(TestServerConfig(retry_after=2, hang_seconds=5)) as srv:
        yield srv


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[OpenAICompatibleTestServer]:
    """Accepts only the key ``sk-right-secret-9876543210``."""
    with run_test_server_in_thread(TestServerConfig(required_api_key=RIGHT_KEY)) as srv:
        yield srv


@pytest.fixture(params=["httpx2", "aiohttp", "wire"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way a chat completion can travel: the SDK on either of its transports, or the
    lean wire client of the ``openai-compatible`` family."""
    if request.param == "httpx2":
        for module in ("evalbook.providers.openai_compat", "evalbook.providers.anthropic"):
            monkeypatch.setattr(f"{module}.aiohttp_available", lambda: False)
    return str(request.param)
