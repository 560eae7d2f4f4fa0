"""CPU per model call of the HTTP clients an ``openai-compatible`` run can use.

    python benchmarks/bench_http_client.py [--calls 5000] [--concurrency 100]

Against the local test server (no latency, in its own process), the same chat-completion
body is posted ``--calls`` times at ``--concurrency`` through each client, after a warm-up
that opens the connections; the figure is this process's CPU (user + system) per call:

- ``plain_http``: :class:`evalbook.providers.plain_http.PlainHTTP` (``http://`` endpoints);
- ``aiohttp``: one ``aiohttp.ClientSession`` as the wire client opens it for ``https://``
  endpoints (plain HTTP here, so that only the client differs).

The two alternate, ``--rounds`` times each, so that a busy machine weighs on both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_executor import start_server

from evalbook.providers.plain_http import PlainHTTP

BODY = json.dumps(
    {
        "model": "test-model",
        "messages": [{"role": "user", "content": "[[answer=yes]] question number 7"}],
        "temperature": 0,
    }
).encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


async def measure(post: Callable[[], Awaitable[bytes]], calls: int, concurrency: int) -> float:
    """CPU milliseconds per call of ``calls`` calls at ``concurrency``."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> bytes:
        async with gate:
            return await post()

    await asyncio.gather(*(one() for _ in range(concurrency * 5)))  # connections open
    cpu = time.process_time()
    replies = await asyncio.gather(*(one() for _ in range(calls)))
    spent = time.process_time() - cpu
    assert all(b'"chat.completion"' in r for r in replies), replies[0][:200]
    return spent * 1000 / calls


async def plain(url: str, calls: int, concurrency: int) -> float:
    client = PlainHTTP(
        "bench", url, HEADERS, max_connections=concurrency, timeout_s=60, policy=None
    )

    async def post() -> bytes:
        return (await client.post(BODY)).body

    try:
        return await measure(post, calls, concurrency)
    finally:
        await client.close()


async def aiohttp_session(url: str, calls: int, concurrency: int) -> float:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=60),
        headers=HEADERS,
        skip_auto_headers=("User-Agent",),
    )

    async def post() -> bytes:
        async with session.post(url, data=BODY) as reply:
            return await reply.read()

    try:
        return await measure(post, calls, concurrency)
    finally:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server, base_url = start_server(0)
    url = f"{base_url}/chat/completions"
    figures: dict[str, list[float]] = {"plain_http": [], "aiohttp": []}
    try:
        for _ in range(args.rounds):
            figures["plain_http"].append(asyncio.run(plain(url, args.calls, args.concurrency)))
            figures["aiohttp"].append(
                asyncio.run(aiohttp_session(url, args.calls, args.concurrency))
            )
    finally:
        server.terminate()
        server.wait()
    print(f"{args.calls:,} calls at concurrency {args.concurrency}, {args.rounds} rounds")
    print(f"{'client':12} {'CPU ms per call (median)':>24} {'min':>8}")
    for name, values in figures.items():
        print(f"{name:12} {statistics.median(values):>24.3f} {min(values):>8.3f}")


if __name__ == "__main__":
    main()
