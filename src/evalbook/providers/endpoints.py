"""Which hosts a model endpoint chosen by an API request may reach.

A model config sent to the server names the address the server will call (``base_url``,
or the default ``127.0.0.1`` endpoint of ``vllm`` / ``ollama``). Without a guard a key
holder could make the server call its own network — the database, a cloud metadata
service (``169.254.169.254``), an admin port on loopback — and read the answers back as
model outputs (server-side request forgery). So for such endpoints:

- only ``http`` / ``https`` URLs, without credentials;
- every address the host resolves to must be public (not loopback, private, shared,
  link-local, multicast, reserved or unspecified, IPv4 and IPv6 alike, including IPv4
  wrapped in IPv6), unless the operator allowed that host (``evalbook serve
  --allow-model-host HOST[:PORT]``, ``EVALBOOK_ALLOW_MODEL_HOSTS``); the hosts of the
  operator's own model tiers are allowed too;
- the check runs when the request arrives and again at every connection the run opens
  (:func:`guarded`), on the addresses the connection actually uses, so a name that
  resolves to a public address first and a private one later (DNS rebinding) is refused.

The CLI trusts its user: none of this applies to runs it executes itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from evalbook.errors import ConfigError, FatalProviderError

__all__ = [
    "ALLOW_ENV",
    "EndpointRefused",
    "HostPolicy",
    "active_policy",
    "address_refusal",
    "allow_hosts",
    "check_endpoint",
    "guarded",
    "refuse_addresses",
]

#: Comma-separated ``HOST`` or ``HOST:PORT`` entries the operator allows.
ALLOW_ENV = "EVALBOOK_ALLOW_MODEL_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CHECKS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


class EndpointRefused(FatalProviderError):
    """A connection to a host the policy refuses (a run's case fails with it; never retried)."""


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not public (``"loopback"``, …); None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
        if address.is_site_local:
            return "site-local"
    for attribute, reason in _CHECKS:
        if getattr(address, attribute):
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address, if it is one (``[::1]`` and ``fe80::1%eth0`` included)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """Hosts (``"host"``: any port, ``"host:port"``: that port) allowed despite not being
    public. Names are compared as written and lower-cased; an IP is compared as an IP."""

    allowed: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls) -> HostPolicy:
        """The operator's allowlist, plus the hosts of the configured model tiers."""
        entries = {e.strip().lower() for e in os.environ.get(ALLOW_ENV, "").split(",")}
        entries.discard("")
        for entry in entries:
            _check_entry(entry)
        return cls(frozenset(entries | _tier_hosts()))

    def allows(self, host: str, port: int) -> bool:
        name = _normal_host(host)
        return name in self.allowed or f"{name}:{port}" in self.allowed

    def refusal(self, host: str, port: int, address: IPAddress) -> str | None:
        """Why connecting to ``address`` (resolved from ``host``) is refused, or None."""
        if self.allows(host, port) or self.allows(str(address), port):
            return None
        return address_refusal(address)


def _normal_host(host: str) -> str:
    literal = ip_literal(host)
    if literal is not None:
        return (
            str(literal.ipv4_mapped or literal)
            if isinstance(literal, ipaddress.IPv6Address)
            else str(literal)
        )
    return host.strip("[]").rstrip(".").lower()


def _check_entry(entry: str) -> None:
    host, sep, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
    if sep and not port.isdigit():
        raise ConfigError(f"{ALLOW_ENV}: {entry!r} is not HOST or HOST:PORT")
    if not host:
        raise ConfigError(f"{ALLOW_ENV}: {entry!r} names no host")


def allow_hosts(entries: list[str]) -> None:
    """Add ``HOST[:PORT]`` entries to this process's allowlist (``--allow-model-host``)."""
    current = [e for e in os.environ.get(ALLOW_ENV, "").split(",") if e.strip()]
    for entry in entries:
        _check_entry(entry.strip().lower())
    if entries:
        os.environ[ALLOW_ENV] = ",".join([*current, *entries])


def _tier_hosts() -> set[str]:
    from evalbook.providers.tiers import load_tiers

    try:
        tiers = load_tiers()
    except ConfigError:
        return set()  # a broken tier file is reported where tiers are used
    hosts = set()
    for config in tiers.values():
        if config.base_url:
            parts = urlsplit(config.base_url)
            if parts.hostname:
                port = parts.port or (443 if parts.scheme == "https" else 80)
                hosts.add(f"{_normal_host(parts.hostname)}:{port}")
    return hosts


def _split(url: str, where: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{where}: {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{where}: {url!r}: only http and https endpoints are allowed")
    if not parts.hostname:
        raise ConfigError(f"{where}: {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{where}: {url!r} must not hold credentials")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (no lookup for an IP literal)."""
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_literal(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


def check_endpoint(url: str, where: str, policy: HostPolicy | None = None) -> None:
    """Refuse (``ConfigError``) an endpoint URL an API request may not make the server
    call: not http(s), or a host that is (or resolves to) a non-public address the
    operator did not allow. Allowed hosts are not looked up at all."""
    policy = policy if policy is not None else HostPolicy.from_env()
    host, port = _split(url, where)
    if policy.allows(host, port):
        return
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{where}: host {host!r} does not resolve: {exc}") from None
    if not addresses:
        raise ConfigError(f"{where}: host {host!r} resolves to no IP address")
    for address in addresses:
        reason = policy.refusal(host, port, address)
        if reason is not None:
            shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
            raise ConfigError(
                f"{where}: {url!r}: {shown} is not a public address ({reason}); the server"
                " calls only public model endpoints unless its operator allows the host"
                f" (evalbook serve --allow-model-host HOST[:PORT], {ALLOW_ENV})"
            )


_ACTIVE: contextvars.ContextVar[HostPolicy | None] = contextvars.ContextVar(
    "evalbook_endpoint_policy", default=None
)


def active_policy() -> HostPolicy | None:
    """The policy connections made here must follow; None outside :func:`guarded`."""
    return _ACTIVE.get()


@contextlib.contextmanager
def guarded(policy: HostPolicy) -> Iterator[None]:
    """Within this block (and tasks started in it) every connection a provider opens is
    checked against ``policy`` on the address it connects to."""
    token = _ACTIVE.set(policy)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def refuse_connection(provider: str, host: str, port: int, address: IPAddress) -> None:
    """Raise :class:`EndpointRefused` if the active policy refuses ``address``."""
    policy = active_policy()
    if policy is None:
        return
    reason = policy.refusal(host, port, address)
    if reason is not None:
        raise EndpointRefused(
            f"{provider}: refused to connect to {host} ({address}, {reason}): model endpoints"
            " of runs sent to the server must be public unless the operator allows the host"
            f" (evalbook serve --allow-model-host HOST[:PORT], {ALLOW_ENV})"
        )


def refuse_addresses(
    provider: str, host: str, port: int, addresses: Iterable[str], policy: HostPolicy
) -> None:
    """Raise :class:`EndpointRefused` if ``policy`` refuses any of the IP ``addresses``
    that ``host`` resolved to (a name among them is skipped: only addresses connect)."""
    with guarded(policy):
        for text in addresses:
            address = ip_literal(text)
            if address is not None:
                refuse_connection(provider, host, port, address)
