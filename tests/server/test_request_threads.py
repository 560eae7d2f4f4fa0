"""How many requests a server answers at once in threads: its setting, not anyio's 40."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import httpx
import pytest

from evalbook.server import ServerSettings, create_app
from evalbook.server.routes import suites as routes
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
    read = routes.suite_refs  # read by a sync route: in the thread pool

    def slow_read(*args: Any, **kwargs: Any) -> Any:  # a read that takes a while
        nonlocal most
        with lock:
            running.append(1)
            most = max(most, len(running))
        time.sleep(0.05)
        with lock:
            running.pop()
        return read(*args, **kwargs)

    monkeypatch.setattr(routes, "suite_refs", slow_read)

    async with app.router.lifespan_context(app):
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            answers = await asyncio.gather(*(api.get("/api/suites") for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert most == 2


async def test_quick_reads_are_made_in_the_loops_thread_on_sqlite_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite hands the GIL back for every row it steps: a list page read in a pool
    thread under load took it back from the loop row by row. PostgreSQL answers over a
    socket, and is waited for in the pool."""
    from evalbook.server import auth
    from evalbook.server.routes import evals, runs
    from evalbook.server.state import quick_read

    loop_thread = threading.get_ident()
    assert (await quick_read(store, threading.get_ident) == loop_thread) == (
        store.dialect == "sqlite"
    )
    threads: dict[str, int] = {}

    def noting(name: str, read: Callable[..., Any]) -> Callable[..., Any]:
        def noted(*args: Any, **kwargs: Any) -> Any:
            threads[name] = threading.get_ident()
            return read(*args, **kwargs)

        return noted

    monkeypatch.setattr(runs, "list_workspace_rows", noting("page", runs.list_workspace_rows))
    monkeypatch.setattr(runs, "get_workspace_run", noting("run", runs.get_workspace_run))
    monkeypatch.setattr(evals, "_summaries", noting("evals", evals._summaries))
    monkeypatch.setattr(auth, "keys_exist", noting("keys", auth.keys_exist))
    app = create_app(ServerSettings(worker=False), store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as api:
            page = await api.get("/api/runs?limit=5")
            run = await api.get("/api/runs/no-such-run")
            summaries = await api.get("/api/evals")
    assert page.status_code == 200 and page.json() == {"items": [], "next": None}
    assert run.status_code == 404 and summaries.json() == []
    in_loop = {name: ident == loop_thread for name, ident in threads.items()}
    sqlite = store.dialect == "sqlite"
    assert in_loop == {"page": sqlite, "run": sqlite, "evals": sqlite, "keys": sqlite}
