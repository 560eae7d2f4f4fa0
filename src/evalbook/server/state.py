"""What every request handler shares: the settings and the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

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


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.evalbook
    return state
