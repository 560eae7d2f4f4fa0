"""What every request handler shares: the settings, the store and the dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from evalbook.executor.dispatch import DatabaseDispatcher, Dispatcher
from evalbook.server.settings import ServerSettings
from evalbook.storage.store import Store

__all__ = ["ServerState", "quick_read", "server_state"]

T = TypeVar("T")


@dataclass
class ServerState:
    settings: ServerSettings
    store: Store
    #: (whether any API key exists, when that was read): cached for a few seconds.
    keys_exist: tuple[bool, float] | None = None
    #: Wakes the in-process worker pool when a run is submitted (the pool sets it).
    wake_worker: Callable[[], None] = lambda: None
    #: Where every route submits, cancels and re-queues runs. The default queues them in
    #: the database and wakes the in-process pool; another backend is chosen by the app
    #: factory (``create_app(dispatcher=…)``) and nowhere else.
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = DatabaseDispatcher(self.store, wake=lambda: self.wake_worker())


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.evalbook
    return state


async def quick_read(store: Store, read: Callable[[], T]) -> T:
    """``read()``, a read of the store that writes nothing and takes a few milliseconds
    at most (one list page, whether a key exists): on SQLite in the event loop's own
    thread, on PostgreSQL in the thread pool.

    Why: SQLite answers from this process, and hands the GIL back for every row it
    steps. Read in a pool thread under load, each row took the GIL back from the loop:
    with 32 clients a page of 50 runs cost the server 6.7-7.7 ms of CPU, read in the
    loop's thread 4.0-4.4 ms (159-182 → 243-267 requests/s). In WAL mode a read does not
    wait for the writer. PostgreSQL answers over a socket: the loop serves others while
    a pool thread waits for it."""
    if store.dialect == "sqlite":
        return read()
    return await run_in_threadpool(read)
