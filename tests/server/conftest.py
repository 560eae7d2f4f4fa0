"""An in-process API client (httpx over ASGI, the app's lifespan run for real)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from evalbook.server import ServerSettings, create_app
from evalbook.storage.store import Store


@pytest.fixture
async def api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no background services (tests that need the worker start their own)."""
    app = create_app(ServerSettings(worker=False), store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
