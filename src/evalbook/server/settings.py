"""How a server runs: where it listens, which database, how many runs at once."""

from __future__ import annotations

import ipaddress
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

    @property
    def single_user_allowed(self) -> bool:
        """Requests without a key are served (as the ``default`` workspace) only on a
        loopback address and only while no key exists."""
        return is_loopback(self.host)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
