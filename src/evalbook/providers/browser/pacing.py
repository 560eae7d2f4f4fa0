"""Requests per minute to one site, shared by every page and run in the process.

Why here and not in the executor: a site's ``rpm`` spaces out messages typed into its page
(each turn of a multi-turn case counts), which only the page driver sees.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from urllib.parse import urlsplit

__all__ = ["pace"]


class _Pacer:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.next_at = 0.0


_pacers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Pacer]] = (
    weakref.WeakKeyDictionary()
)


async def pace(url: str, rpm: float) -> None:
    """Wait until the site (scheme + host + port of ``url``) may receive another message."""
    parts = urlsplit(url)
    site = f"{parts.scheme}://{parts.netloc}"
    per_loop = _pacers.setdefault(asyncio.get_running_loop(), {})
    pacer = per_loop.setdefault(site, _Pacer())
    async with pacer.lock:
        now = time.monotonic()
        if pacer.next_at > now:
            await asyncio.sleep(pacer.next_at - now)
            now = time.monotonic()
        pacer.next_at = now + 60.0 / rpm
