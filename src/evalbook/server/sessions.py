"""Browser sessions: a signed token in an HttpOnly cookie, made when a person signs in
with an API key, and the CSRF tokens bound to it.

The cookie never holds the key. It holds the key's *id*, the time it was issued and a
random nonce, signed with HMAC-SHA256 under a key derived from the server key
(``EVALBOOK_SECRET_KEY``; servers sharing it accept each other's sessions). Every request
checks the signature, the age (``SESSION_TTL_S``) and that the key is still unrevoked, so
revoking a key ends its sessions at once. Signing out deletes the cookie.

CSRF tokens are an HMAC of the session's nonce (or, without a session — single-user mode
on loopback, and the sign-in form itself — of a random value in its own cookie), so a
page of another site can neither read nor forge one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.store import Store
from evalbook.storage.workspaces import KEY_PREFIX, Workspace
from evalbook.webhooks.signing import server_key

__all__ = [
    "ANON_COOKIE",
    "SESSION_COOKIE",
    "SESSION_TTL_S",
    "Session",
    "csrf_token",
    "issue",
    "key_of",
    "read",
    "session_workspace",
]

SESSION_COOKIE = "evalbook_session"
#: Holds a random value to bind CSRF tokens to when there is no session.
ANON_COOKIE = "evalbook_csrf"
SESSION_TTL_S = 12 * 3600


def _secret(purpose: str) -> bytes:
    return hmac.new(server_key(), f"evalbook-web:{purpose}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    key_id: str
    issued: int
    nonce: str


def issue(key_id: str, *, now: float | None = None) -> str:
    """A new session token for the key ``key_id``."""
    body = {
        "k": key_id,
        "t": int(now if now is not None else time.time()),
        "n": _b64(secrets.token_bytes(16)),
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(_secret("session"), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read(token: str | None, *, now: float | None = None) -> Session | None:
    """The session of a well-signed, unexpired token; ``None`` for anything else."""
    if not token or len(token) > 500 or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    expected = hmac.new(_secret("session"), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        body = json.loads(_unb64(payload))
        session = Session(str(body["k"]), int(body["t"]), str(body["n"]))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    age = (now if now is not None else time.time()) - session.issued
    if not 0 <= age <= SESSION_TTL_S + 60:
        return None
    return session


def key_of(store: Store, key: str) -> tuple[str, Workspace] | None:
    """``(key id, workspace)`` of a valid, unrevoked API key (what sign-in checks)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    k, w = t.api_keys.c, t.workspaces.c
    query = (
        sa.select(k.id, w.id.label("ws_id"), w.name)
        .join(t.workspaces, w.id == k.workspace_id)
        .where(k.key_hash == hashlib.sha256(key.encode()).hexdigest(), k.revoked_at.is_(None))
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else (row.id, Workspace(row.ws_id, row.name))


def session_workspace(store: Store, session: Session) -> Workspace | None:
    """The workspace of the session's key, while that key is unrevoked."""
    k, w = t.api_keys.c, t.workspaces.c
    query = (
        sa.select(w.id, w.name)
        .join(t.workspaces, w.id == k.workspace_id)
        .where(k.id == session.key_id, k.revoked_at.is_(None))
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else Workspace(row.id, row.name)


def csrf_token(binding: str) -> str:
    """The CSRF token of a session nonce (or an anonymous cookie's value)."""
    return _b64(hmac.new(_secret("csrf"), binding.encode(), hashlib.sha256).digest())
