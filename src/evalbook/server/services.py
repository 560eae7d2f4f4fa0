"""Background services started with the app: each runs until ``stop`` is set."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from evalbook.server.state import ServerState

__all__ = ["DEFAULT_SERVICES", "Service"]

#: ``async def service(state, stop)``: runs until ``stop`` is set, then returns promptly.
Service = Callable[[ServerState, asyncio.Event], Coroutine[Any, Any, None]]

#: What a server runs besides answering requests (when ``ServerSettings.worker`` is on).
DEFAULT_SERVICES: tuple[Service, ...] = ()
