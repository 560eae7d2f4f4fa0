"""Where a webhook may send: public ``http(s)`` addresses, checked at every delivery.

A webhook URL is chosen by a user of the API, and the server sends to it from inside
its own network — so without a guard, a webhook is a way to make the server POST to
its database, a cloud metadata service (``169.254.169.254``) or anything else on the
private network (server-side request forgery). The host is therefore resolved and every
address it resolves to must be public: not loopback, private, shared (CGNAT),
link-local, multicast, reserved or unspecified, for IPv4 and IPv6 alike, including IPv4
addresses wrapped in IPv6 (``::ffff:10.0.0.1``, 6to4, NAT64).

The check runs when the webhook is created and again before each delivery, because DNS
can change in between; and the delivery then connects to the very address that was
checked (the hostname still goes in ``Host`` and TLS SNI, and the certificate is
verified against it), so a second lookup cannot answer differently (DNS rebinding).

Private targets are for trusted set-ups (a receiver on the same machine, tests): they
are allowed only for a webhook created with ``allow_private`` on a server started with
``allow_private_webhooks``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

from evalbook.errors import ConfigError
from evalbook.providers.endpoints import address_refusal

__all__ = ["Target", "TargetRefused", "address_refusal", "check_url", "resolve_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ConfigError):
    """The webhook URL is not one the server will send to (answered as 422)."""


@dataclass(frozen=True)
class Target:
    """A checked destination: ``url`` names the address itself; ``host`` is what goes in
    the ``Host`` header and, for https, in SNI and certificate verification."""

    url: httpx.URL
    host: str
    sni_hostname: str | None


def check_url(url: str) -> httpx.URL:
    """The URL parsed, if it is an absolute http(s) URL with a host and no credentials."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise TargetRefused(f"webhook URL {url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise TargetRefused(f"webhook URL {url!r}: only http and https are supported")
    if not parsed.raw_host:
        raise TargetRefused(f"webhook URL {url!r} has no host")
    if parsed.userinfo:
        raise TargetRefused(
            "webhook URL must not hold credentials; verify deliveries by their signature"
        )
    if parsed.fragment:
        raise TargetRefused(f"webhook URL {url!r} must not have a #fragment")
    return parsed


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # unknown host, or a name no resolver takes
        raise TargetRefused(f"webhook host {host!r} does not resolve: {exc}") from exc
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = _literal(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    if not found:
        raise TargetRefused(f"webhook host {host!r} resolves to no IP address")
    return found


async def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check ``url`` and resolve its host (in a thread); refuse it when any address it
    resolves to is not public, unless ``allow_private``."""
    parsed = check_url(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = _literal(host)
    addresses = [literal] if literal is not None else await asyncio.to_thread(_resolve, host, port)
    if not allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                shown = host if literal is not None else f"{host} ({address})"
                raise TargetRefused(
                    f"webhook URL {url!r}: {shown} is not a public address ({reason});"
                    " webhooks may only send to public addresses"
                )
    chosen = addresses[0]
    return Target(
        url=parsed.copy_with(host=str(chosen)),
        host=parsed.netloc.decode("ascii"),
        sni_hostname=host if parsed.scheme == "https" and literal is None else None,
    )
