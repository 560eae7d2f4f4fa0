"""How many requests a server answers at once in threads: its setting, not anyio's 40."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import anyio.to_thread
import httpx
import pytest

from evalbook.server import ServerSettings, create_app
from evalbook.server.routes import evals as routes
from evalbook.server.settings import default_request_threads
from evalbook.storage.store import Store


def test_the_default_is_one_thread_more_than_the_cores_and_at_most_sixteen() -> None:
    assert ServerSettings().threads == default_request_threads()
    assert default_request_threads() == min(16, (os.cpu_count() or 1) + 1)
    assert ServerSettings(request_threads=5).threads == 5
    with pytest.raises(ValueError, match="request_threads must be at least 1, not 0"):
        ServerSettings(request_threads=0)


async def test_requests_past_the_threads_wait_their_turn(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(ServerSettings(worker=False, request_threads=2), store=store, services=())
    running: list[int] = []
    most = 0
    lock = threading.Lock()
    read = routes._summaries  # a read the route hands to the thread pool

    def slow_read(*args: Any, **kwargs: Any) -> Any:  # a read that takes a while
        nonlocal most
        with lock:
            running.append(1)
            most = max(most, len(running))
        time.sleep(0.05)
        with lock:
            running.pop()
        return read(*args, **kwargs)

    monkeypatch.setattr(routes, "_summaries", slow_read)

    async with app.router.lifespan_context(app):
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            answers = await asyncio.gather(*(api.get("/api/evals") for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert most == 2


async def test_quick_reads_are_made_in_the_loops_thread_on_sqlite_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite hands the GIL back for every row it steps: a list page read in a pool
    thread under load took it back from the loop row by row. PostgreSQL answers over a
    socket, and is waited for in the pool."""
    from evalbook.server import auth
    from evalbook.server.routes import runs
    from evalbook.server.state import quick_read

    loop_thread = threading.get_ident()
    assert (await quick_read(store, threading.get_ident) == loop_thread) == (
        store.dialect == "sqlite"
    )
    threads: dict[str, int] = {}
    read_rows, read_keys = runs.list_workspace_rows, auth.keys_exist

    def rows(*args: Any, **kwargs: Any) -> Any:
        threads["page"] = threading.get_ident()
        return read_rows(*args, **kwargs)

    def keys(*args: Any, **kwargs: Any) -> Any:
        threads["keys"] = threading.get_ident()
        return read_keys(*args, **kwargs)

    monkeypatch.setattr(runs, "list_workspace_rows", rows)
    monkeypatch.setattr(auth, "keys_exist", keys)
    app = create_app(ServerSettings(worker=False), store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            answer = await api.get("/api/runs?limit=5")
    assert answer.status_code == 200 and answer.json() == {"items": [], "next": None}
    in_loop = {name: ident == loop_thread for name, ident in threads.items()}
    assert in_loop == {"page": store.dialect == "sqlite", "keys": store.dialect == "sqlite"}
