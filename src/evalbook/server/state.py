"""What every request handler shares: the settings, the store and the dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from evalbook.executor.dispatch import DatabaseDispatcher, Dispatcher
from evalbook.server.settings import ServerSettings
from evalbook.storage.store import Store

__all__ = ["ServerState", "server_state"]


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
