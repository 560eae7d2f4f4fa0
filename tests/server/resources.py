"""Data and clients for the REST resource tests: a small suite answered by the mock model,
keys of two workspaces, and an app whose worker wake-ups are counted."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

import evalbook
from evalbook.core.run import RunRecord
from evalbook.server import ServerSettings, create_app
from evalbook.server.state import ServerState
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key
from evalbook.suites import load_suite_from_dict

MOCK = "mock:echo"


def suite_data(suite_id: str = "qa", version: str = "1", **extra: Any) -> dict[str, Any]:
    """Four cases; the echo model answers the rendered prompt, so ``contains`` passes where
    the expected text is in the question (c1, c2, c4) and fails for c3."""
    return {
        "id": suite_id,
        "name": "Question answering",
        "version": version,
        "threshold": 0.5,
        "tags": ["smoke"],
        "prompt": {
            "name": f"{suite_id}-prompt",
            "versions": {
                1: {"template": "Q: {{ q }}"},
                2: {"system": "Be brief.", "template": "Question: {{ q }}"},
            },
        },
        "scorers": [{"contains": "{{ expected }}"}],
        "cases": [
            {"id": "c1", "vars": {"q": "capital of france paris"}, "expected": "paris",
             "section": "geo"},
            {"id": "c2", "vars": {"q": "two plus two is 4"}, "expected": "4", "section": "math"},
            {"id": "c3", "vars": {"q": "largest ocean"}, "expected": "pacific", "section": "geo"},
            {"id": "c4", "vars": {"q": "say hello"}, "expected": "hello", "section": "misc"},
        ],
        **extra,
    }  # fmt: skip


async def finished_run(store: Store, suite_id: str = "qa", **options: Any) -> RunRecord:
    """A completed run of :func:`suite_data` with the mock model, in workspace ``default``
    (as the CLI and the Python API record them)."""
    suite = load_suite_from_dict(suite_data(suite_id))
    return await evalbook.arun(suite, model=options.pop("model", MOCK), store=store, **options)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def workspace_keys(store: Store) -> dict[str, dict[str, str]]:
    """Headers of a key for ``default``, ``team-a`` and ``team-b`` (once keys exist, every
    request needs one)."""
    return {name: bearer(create_key(store, name)[0]) for name in ("default", "team-a", "team-b")}


@contextlib.asynccontextmanager
async def serve(store: Store) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """The API (lifespan run, no services) and a list that grows by one entry each time
    a request wakes the worker pool."""
    app = create_app(ServerSettings(worker=False), store=store, services=())
    woken: list[str] = []
    async with app.router.lifespan_context(app):
        state: ServerState = app.state.evalbook
        state.wake_worker = lambda: woken.append("wake")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, woken


async def post_suite(
    client: httpx.AsyncClient, data: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/api/suites", json=data, headers=headers or {})
