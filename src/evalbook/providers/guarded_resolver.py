"""An aiohttp resolver that checks every address it answers against a host policy.

aiohttp connects to exactly the addresses its resolver returns, so checking them here is
checking the connection itself: a name that resolved to a public address when the run
was accepted and to a private one now (DNS rebinding) is refused before connecting.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from evalbook.providers.endpoints import HostPolicy, refuse_addresses

__all__ = ["GuardedResolver"]


class GuardedResolver(AbstractResolver):
    """The default resolver, whose every answer must pass ``policy``."""

    def __init__(self, provider: str, policy: HostPolicy) -> None:
        self.provider = provider
        self.policy = policy
        self.inner = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        refuse_addresses(self.provider, host, port, [e["host"] for e in found], self.policy)
        return found

    async def close(self) -> None:
        await self.inner.close()
