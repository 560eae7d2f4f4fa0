"""Comparisons ahead of time: the server compares each completed run with the previous
completed run of its suite (the pair "Compare with previous" and "Compare latest two"
open) before anyone asks, and a look while one is being computed waits for it instead of
computing it again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from evalbook.analysis.compare.cache import cached_comparison, clear_comparisons, is_cached
from evalbook.core.run import RunRecord
from evalbook.server import ServerSettings, create_app
from evalbook.server.services import comparison_service
from evalbook.storage.store import Store
from tests.server.resources import finished_run


@pytest.fixture
async def compared(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The app with only the comparison service running."""
    clear_comparisons()
    app = create_app(ServerSettings(worker=False), store=store, services=(comparison_service,))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    clear_comparisons()


async def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_completed_runs_are_compared_before_anyone_asks(store: Store) -> None:
    first = await finished_run(store)
    second = await finished_run(store)
    other_suite = await finished_run(store, suite_id="solo")
    clear_comparisons()
    app = create_app(ServerSettings(worker=False), store=store, services=(comparison_service,))
    async with app.router.lifespan_context(app):
        # Runs that completed before the server started (within the look-back).
        await eventually(lambda: is_cached(store, first, second))
        third = await finished_run(store)  # and one that completes while it runs
        await eventually(lambda: is_cached(store, second, third))
        assert not is_cached(store, first, third)  # only each run with its previous one
        # A suite with one completed run has nothing to be compared with.
        assert not any(is_cached(store, r, other_suite) for r in (first, second, third))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            page = await client.get(f"/compare?runs={second.id},{third.id}")
            assert page.status_code == 200 and third.id[:8] in page.text
    clear_comparisons()


async def test_an_archived_run_is_no_ones_previous(
    store: Store, compared: httpx.AsyncClient
) -> None:
    first = await finished_run(store)
    second = await finished_run(store)
    await eventually(lambda: is_cached(store, first, second))
    assert (await compared.post(f"/api/runs/{second.id}/archive")).status_code == 200
    third = await finished_run(store)
    # The previous run of the third is the first: the archived one is left out.
    await eventually(lambda: is_cached(store, first, third))


def test_looks_at_one_comparison_at_once_share_one_computation(store: Store) -> None:
    clear_comparisons()
    runs: list[RunRecord] = [asyncio.run(finished_run(store)) for _ in range(2)]
    found: list[object] = []
    start = threading.Barrier(4)

    def look() -> None:
        start.wait()
        found.append(cached_comparison(store, runs[0], runs[1]))

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(found) == 4 and all(c is found[0] for c in found)  # one object: one computation
    clear_comparisons()
