"""How a server runs: where it listens, which database, how many runs at once."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

__all__ = ["ServerSettings", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerSettings:
    """``max_runs`` runs execute at once in the in-process worker pool (``worker=False``
    leaves execution to ``evalbook worker`` processes sharing the database)."""

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    worker: bool = True
    max_runs: int = 2
    lease_s: float = 30.0
    poll_s: float = 0.5
    #: Base URL of this server as clients reach it (run links in webhooks).
    public_url: str | None = None
    #: Largest request body accepted (suites arrive as YAML/JSON bodies).
    max_body_bytes: int = 10 * 1024 * 1024
    #: Let webhooks created with ``allow_private`` send to loopback/private addresses
    #: (a receiver on this machine or network); off, only public addresses are allowed.
    allow_private_webhooks: bool = False
    #: Seconds after which the workspace's live stream (``GET /api/events``) closes so
    #: long-lived connections are recycled; clients resume with ``Last-Event-ID``.
    stream_max_s: float = 300.0
    #: Whether the web workspace's pages are served (``/``, ``/runs``, …) besides the API.
    web: bool = True
    #: Threads answering requests at once (their database reads and writes, the pages
    #: they build); ``None``: :func:`default_request_threads`. Requests past them wait
    #: their turn in the event loop, which costs nothing.
    request_threads: int | None = None

    def __post_init__(self) -> None:
        if self.request_threads is not None and self.request_threads < 1:
            raise ValueError(f"request_threads must be at least 1, not {self.request_threads}")

    @property
    def threads(self) -> int:
        if self.request_threads is None:
            return default_request_threads()
        return self.request_threads

    @property
    def single_user_allowed(self) -> bool:
        """Requests without a key are served (as the ``default`` workspace) only on a
        loopback address and only while no key exists."""
        return is_loopback(self.host)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def default_request_threads() -> int:
    """One more than the machine's cores, at most 16. A request's thread is mostly Python
    holding the GIL: threads past the cores only take turns with the event loop that
    reads and answers the requests. With 32 clients on 2 cores, 3 threads served the
    keyset pages of the run list 42% more often than anyio's default of 40 on SQLite
    (235 vs 165 requests/s) and 26% on PostgreSQL (199 vs 158)."""
    return min(16, (os.cpu_count() or 1) + 1)
