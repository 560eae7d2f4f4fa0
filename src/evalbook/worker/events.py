"""Writing a run's progress events to ``run_events`` while a worker executes it.

The executor calls the sink synchronously on the event loop, once per case, so the sink
only appends to a buffer; a background task writes the buffer in one transaction every
``interval_s`` or every ``batch_size`` events, on the run's store thread. The rows, and
how they are read and followed, are ``storage/run_events.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from evalbook.executor.events import Event, RunFinished, event_row
from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger
from evalbook.storage.run_events import append_events
from evalbook.storage.store import Store

__all__ = ["EventRecorder"]

log = get_logger("evalbook.worker")


class EventRecorder:
    """The event sink of one run: buffers, and appends in batches, in order."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        io: StoreIO,
        *,
        batch_size: int = 200,
        interval_s: float = 0.1,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.io = io
        self.batch_size = batch_size
        self.interval_s = interval_s
        self._buffer: list[tuple[str, str, dict[str, Any]]] = []
        self._wake = asyncio.Event()
        #: One write at a time, so a :meth:`flush` returns only once every event given
        #: before it is in the log, in order.
        self._writing = asyncio.Lock()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def __call__(self, event: Event) -> None:
        kind, data = event_row(event)
        self.add(kind, data)
        if isinstance(event, RunFinished):
            self._wake.set()  # a stream waiting for the end should not wait a tick

    def add(self, kind: str, data: dict[str, Any]) -> None:
        self._buffer.append((self.run_id, kind, data))
        if len(self._buffer) >= self.batch_size:
            self._wake.set()

    async def __aenter__(self) -> EventRecorder:
        self._task = asyncio.create_task(self._loop(), name=f"evalbook-events-{self.run_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _loop(self) -> None:
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write every event given so far (the executor calls it before it records the
        run's end, so a crash after that record loses no case's event)."""
        async with self._writing:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            try:
                await self.io.call(append_events, self.store, batch)
            except Exception:
                # Progress, not the record: keep the events for the next attempt.
                log.warning(
                    "run %s: writing %d events failed", self.run_id, len(batch), exc_info=True
                )
                self._buffer[:0] = batch

    async def close(self) -> None:
        """Stop the loop and write what is left (also while the run is being stopped)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)
        await asyncio.shield(self.flush())
