"""Signing webhook deliveries, and checking a signature where they arrive.

Each webhook has its own secret, shown once when it is created and stored nowhere: it is
``HMAC-SHA256(server key, webhook id)``, so a database dump holds no secret, and every
server sharing the same key (``EVALBOOK_SECRET_KEY``) signs identically. Without the
variable a random key is generated once into ``$EVALBOOK_HOME/secret.key`` (mode 0600);
changing the key changes every webhook's secret.

A delivery carries ``X-Evalbook-Timestamp`` (unix seconds) and
``X-Evalbook-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}" under the secret>``.
The timestamp is signed so a captured request cannot be replayed later: receivers reject
it outside a tolerance (:func:`verify_signature`, 5 minutes by default).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from evalbook.config import evalbook_home
from evalbook.errors import ConfigError

__all__ = [
    "KEY_ENV",
    "server_key",
    "sign",
    "signature_header",
    "verify_signature",
    "webhook_secret",
]

#: The environment variable holding the server's signing key (any string, 32+ characters).
KEY_ENV = "EVALBOOK_SECRET_KEY"
_KEY_FILE = "secret.key"
_MIN_KEY = 32
_SECRET_PREFIX = "whsec_"


def server_key() -> bytes:
    """``EVALBOOK_SECRET_KEY``, else the key in ``$EVALBOOK_HOME/secret.key`` (made on
    first use, readable by this user only)."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        if len(configured) < _MIN_KEY:
            raise ConfigError(f"{KEY_ENV} must be at least {_MIN_KEY} characters long")
        return configured.encode()
    path = evalbook_home() / _KEY_FILE
    if not path.exists():
        _create_key_file(path)
    key = path.read_text().strip()
    if len(key) < _MIN_KEY:
        raise ConfigError(f"{path} holds no usable key; delete it to make a new one")
    return key.encode()


def _create_key_file(path: Path) -> None:
    """Write a new key so that a concurrent reader never sees a partial file and two
    processes starting together agree on one key (the first link wins)."""
    temp = path.with_name(f".{_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def webhook_secret(webhook_id: str, key: bytes | None = None) -> str:
    """The signing secret of a webhook (``whsec_…``)."""
    digest = hmac.new(
        key if key is not None else server_key(),
        b"evalbook-webhook:" + webhook_id.encode(),
        hashlib.sha256,
    ).hexdigest()
    return _SECRET_PREFIX + digest


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``{timestamp}.{body}`` under ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Evalbook-Signature`` value (``v1=<hex>``)."""
    return "v1=" + sign(secret, timestamp, body)


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    header: str,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """Whether a delivery is authentic and fresh: ``header`` (``X-Evalbook-Signature``)
    holds a ``v1=`` signature of ``body`` — the raw request body, before any JSON
    parsing — at ``timestamp`` (``X-Evalbook-Timestamp``), and the timestamp is within
    ``tolerance_s`` of ``now``. Several comma-separated ``v1=`` values are accepted (any
    one matching is enough)."""
    try:
        stamp = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance_s:
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = sign(secret, stamp, raw)
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value.strip(), expected):
            return True
    return False
