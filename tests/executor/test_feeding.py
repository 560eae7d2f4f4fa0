"""The producer's pipeline: the next chunk is prepared while the workers take this one,
its cache lookup does not wait behind the results being written, and results waiting
for the writer stay bounded."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pytest

import evalbook
from evalbook.executor.plan import WorkItem, ahead
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer import ResultWriter
from evalbook.providers import PROVIDERS
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from .helpers import yes_no_suite


def _chunks(n: int) -> list[list[WorkItem]]:
    return [[WorkItem(seq=i, case=None, epoch=0)] for i in range(n)]  # type: ignore[arg-type]


async def test_the_next_chunk_is_prepared_while_this_one_is_used() -> None:
    started: list[int] = []
    finished: list[int] = []

    async def prepare(chunk: list[WorkItem]) -> list[WorkItem]:
        started.append(chunk[0].seq)
        await asyncio.sleep(0.01)
        finished.append(chunk[0].seq)
        return chunk

    seen = []
    async with contextlib.aclosing(ahead(iter(_chunks(3)), prepare)) as ready:
        async for chunk in ready:
            seen.append(chunk[0].seq)
            await asyncio.sleep(0)  # the caller's first wait (a full queue)
            if chunk[0].seq < 2:
                # The caller holds chunk k: chunk k + 1 is already being prepared.
                assert started == list(range(chunk[0].seq + 2))
            await asyncio.sleep(0.02)  # the workers take the chunk
            if chunk[0].seq < 2:
                assert chunk[0].seq + 1 in finished
    assert seen == [0, 1, 2]


async def test_leaving_early_cancels_the_chunk_being_prepared() -> None:
    canceled = asyncio.Event()

    async def prepare(chunk: list[WorkItem]) -> list[WorkItem]:
        if chunk[0].seq:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                canceled.set()
                raise
        return chunk

    async with contextlib.aclosing(ahead(iter(_chunks(5)), prepare)) as ready:
        async for chunk in ready:
            assert chunk[0].seq == 0
            await asyncio.sleep(0.01)  # chunk 1 is being prepared
            break
    assert canceled.is_set()


async def test_a_read_does_not_wait_for_the_store_thread() -> None:
    io = StoreIO()
    release = threading.Event()
    try:
        # A batch of results being written holds the store thread.
        writing = asyncio.ensure_future(io.call(release.wait, 30))
        await asyncio.sleep(0.05)
        assert not writing.done()
        names = await asyncio.wait_for(io.read(lambda: threading.current_thread().name), 5)
        assert names.startswith("evalbook-read")
        assert not writing.done()
    finally:
        release.set()
        assert await writing is True
        io.close()


async def test_workers_wait_for_the_writer_once_enough_results_are_waiting(
    store: Store, server: Any
) -> None:
    """Results coming faster than they are written (a fully cached run) wait in memory
    up to ``max_waiting`` at a time, then the workers wait for the writer; every result
    is still written."""
    run = await evalbook.arun(yes_no_suite(20, server.base_url), store=store)
    other = store.get_run(run.id).model_copy(update={"id": "r2"})
    store.insert_run(other)
    results = list(store.iter_results(run.id))
    copies = [r.model_copy(update={"run_id": "r2", "id": f"x{i}"}) for i, r in enumerate(results)]
    io = StoreIO()
    release = threading.Event()
    try:
        async with ResultWriter(store, io, batch_size=2) as writer:
            assert writer.max_waiting == 8
            stalled = asyncio.ensure_future(io.call(release.wait, 30))  # a slow write
            for i, result in enumerate(copies[:8]):
                writer.add(result, i)
            assert writer.full
            # The writer takes those 8 (and waits for the store thread): room again.
            await asyncio.wait_for(writer.room(), 5)
            assert not writer.full
            for i, result in enumerate(copies[8:16], start=8):
                writer.add(result, i)
            assert writer.full
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(writer.room()), 0.3)
            release.set()
            await asyncio.wait_for(writer.room(), 5)
            for i, result in enumerate(copies[16:], start=16):
                writer.add(result, i)
        assert await stalled is True
    finally:
        release.set()
        io.close()
    assert len(store.result_statuses("r2")) == 20


async def test_the_first_request_goes_out_before_the_whole_first_wave_is_prepared(
    store: Store,
) -> None:
    """A chunk queued at once woke every idle worker in one turn of the loop, and each
    prepared its request and opened its connection before the first one could send
    (``evalbook run`` at C=100: the first request left ~55 ms after its connection
    opened). The first wave is handed out one item per turn of the loop."""
    log: list[str] = []

    @evalbook.provider("first-wave-test", replace=True)
    async def answer(request: evalbook.GenerateRequest) -> str:
        case = request.messages[-1].text
        log.append(f"asked {case}")
        await asyncio.sleep(0)  # a connection being opened
        log.append(f"sent {case}")
        await asyncio.sleep(0.01)
        return "ok"

    suite = load_suite_from_dict(
        {
            "id": "first-wave",
            "model": {"provider": "first-wave-test", "name": "m"},
            "prompt": "{{ x }}",
            "cases": [{"id": str(j), "vars": {"x": str(j)}} for j in range(60)],
        }
    )
    try:
        run = await evalbook.arun(suite, store=store, concurrency=20)
    finally:
        PROVIDERS.unregister("first-wave-test")  # the docs test lists registered providers
    assert run.counts.total == 60 and len(store.result_statuses(run.id)) == 60
    asked = [entry for entry in log if entry.startswith("asked")]
    # the first request was sent before the wave's last worker had even asked
    assert log.index("sent 0") < log.index(asked[19]), log[:25]
