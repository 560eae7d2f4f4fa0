"""Connections per endpoint, shared by every run in the process.

The second of the two limits (the first, items in flight per run, is the runner's worker
count). Two runs against the same endpoint share one semaphore, so together they never
open more connections than the endpoint allows.
"""

from __future__ import annotations

import asyncio
import weakref

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def endpoint_limit(endpoint: str, max_connections: int) -> asyncio.Semaphore:
    """The semaphore of ``endpoint`` on the running loop (created at the first caller's size)."""
    loop = asyncio.get_running_loop()
    per_loop = _limits.setdefault(loop, {})
    sem = per_loop.get(endpoint)
    if sem is None:
        sem = per_loop[endpoint] = asyncio.Semaphore(max_connections)
    return sem
