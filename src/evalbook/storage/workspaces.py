"""Workspaces and their API keys.

A key is shown once, when it is created; only its sha256 is stored, with a short prefix
so a person can tell keys apart in a list. Keys are random (256 bits), so a plain hash
is enough — a slow password hash would only slow every request down.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from evalbook.errors import ConfigError, NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "DEFAULT_WORKSPACE",
    "ApiKey",
    "Workspace",
    "create_key",
    "ensure_workspace",
    "find_key",
    "get_workspace",
    "has_keys",
    "list_keys",
    "note_key_used",
    "resolve_key",
    "revoke_key",
]

DEFAULT_WORKSPACE = "default"
KEY_PREFIX = "ek_"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str


@dataclass(frozen=True)
class ApiKey:
    id: str
    workspace_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_workspace(store: Store, name: str) -> Workspace:
    """The workspace called ``name``, created on first use. ``default`` always means the
    default workspace (id ``default``: what the CLI and single-user mode record into),
    whatever it was renamed to when the first key was created."""
    _check_name(name)
    with store.write() as conn:
        return _ensure(conn, name)


def _check_name(name: str) -> None:
    if not re.match(_NAME, name):
        raise ConfigError(
            f"workspace name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)"
        )


def _ensure(conn: sa.Connection, name: str) -> Workspace:
    w = t.workspaces.c
    where = w.id == DEFAULT_WORKSPACE if name == DEFAULT_WORKSPACE else w.name == name
    row = conn.execute(sa.select(w.id, w.name).where(where)).first()
    if row is not None:
        return Workspace(row.id, row.name)
    ws_id = DEFAULT_WORKSPACE if name == DEFAULT_WORKSPACE else str(uuid.uuid4())
    conn.execute(sa.insert(t.workspaces).values(id=ws_id, name=name, created_at=datetime.now(UTC)))
    return Workspace(ws_id, name)


def _workspace_of_first_key(conn: sa.Connection, name: str) -> Workspace:
    """The first key joins the default workspace, which holds everything recorded before
    keys existed (turning auth on must never hide a run); named otherwise, the default
    workspace takes that name — unless a workspace of that name already exists apart."""
    w = t.workspaces.c
    default = _ensure(conn, DEFAULT_WORKSPACE)
    if name == DEFAULT_WORKSPACE or name == default.name:
        return default
    if conn.execute(sa.select(w.id).where(w.name == name)).first() is not None:
        return _ensure(conn, name)
    conn.execute(sa.update(t.workspaces).where(w.id == DEFAULT_WORKSPACE).values(name=name))
    return Workspace(DEFAULT_WORKSPACE, name)


def get_workspace(store: Store, workspace_id: str) -> Workspace:
    w = t.workspaces.c
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(w.id, w.name).where(w.id == workspace_id)).first()
    if row is None:
        raise NotFoundError(f"no workspace {workspace_id!r}")
    return Workspace(row.id, row.name)


def create_key(
    store: Store, workspace: str = DEFAULT_WORKSPACE, name: str = "default"
) -> tuple[str, ApiKey]:
    """A new key for ``workspace`` (created if needed): ``(the key, its record)``. The key
    itself is not stored anywhere; show it to the user now.

    The first key ever created belongs to the default workspace, which holds what was
    recorded before keys existed (renamed ``workspace`` when another name is asked for):
    creating keys never hides a run. ``record.workspace_id == "default"`` says so.
    """
    _check_name(workspace)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.write() as conn:
        first = conn.execute(sa.select(t.api_keys.c.id).limit(1)).first() is None
        ws = _workspace_of_first_key(conn, workspace) if first else _ensure(conn, workspace)
        record = ApiKey(
            id=str(uuid.uuid4()),
            workspace_id=ws.id,
            name=name,
            prefix=key[:10],
            created_at=datetime.now(UTC),
            last_used_at=None,
            revoked_at=None,
        )
        conn.execute(
            sa.insert(t.api_keys).values(
                id=record.id,
                workspace_id=ws.id,
                name=name,
                prefix=record.prefix,
                key_hash=_hash(key),
                created_at=record.created_at,
            )
        )
    return key, record


def resolve_key(store: Store, key: str) -> Workspace | None:
    """The workspace of a valid, unrevoked key; ``None`` otherwise."""
    found = find_key(store, key)
    if found is None:
        return None
    workspace, unnoted = found
    if unnoted is not None:
        note_key_used(store, unnoted)
    return workspace


def find_key(store: Store, key: str) -> tuple[Workspace, str | None] | None:
    """The workspace of a valid, unrevoked key, and the key's id when its use is to be
    noted (:func:`note_key_used`: not noted in the last minute); ``None`` for another
    key. Only reads."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    k, w = t.api_keys.c, t.workspaces.c
    query = (
        sa.select(w.id, w.name, k.id.label("key_id"), k.last_used_at)
        .join(t.workspaces, w.id == k.workspace_id)
        .where(k.key_hash == _hash(key), k.revoked_at.is_(None))
    )
    with store.reader.connect() as conn:  # one statement: autocommit on PostgreSQL
        row = conn.execute(query).first()
    if row is None:
        return None
    last = as_utc(row.last_used_at)
    fresh = last is not None and (datetime.now(UTC) - last).total_seconds() <= 60
    return Workspace(row.id, row.name), None if fresh else row.key_id  # not a write per request


def note_key_used(store: Store, key_id: str) -> None:
    """Note that the key ``key_id`` was used now (its ``last_used_at``)."""
    with store.write() as conn:
        conn.execute(
            sa.update(t.api_keys)
            .where(t.api_keys.c.id == key_id)
            .values(last_used_at=datetime.now(UTC))
        )


def has_keys(store: Store) -> bool:
    k = t.api_keys.c
    with store.reader.connect() as conn:
        return (
            conn.execute(sa.select(k.id).where(k.revoked_at.is_(None)).limit(1)).first() is not None
        )


def list_keys(store: Store, workspace: str | None = None) -> list[ApiKey]:
    k, w = t.api_keys.c, t.workspaces.c
    query = sa.select(t.api_keys).order_by(k.created_at)
    if workspace is not None:
        named = w.id == DEFAULT_WORKSPACE if workspace == DEFAULT_WORKSPACE else w.name == workspace
        query = query.join(t.workspaces, w.id == k.workspace_id).where(named)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        ApiKey(r.id, r.workspace_id, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
        for r in rows
    ]


def revoke_key(store: Store, key_id_or_prefix: str) -> ApiKey:
    k = t.api_keys.c
    matches = [
        key
        for key in list_keys(store)
        if key.id == key_id_or_prefix or key.prefix == key_id_or_prefix
    ]
    if len(matches) != 1:
        raise NotFoundError(f"no single API key with id or prefix {key_id_or_prefix!r}")
    with store.write() as conn:
        conn.execute(
            sa.update(t.api_keys).where(k.id == matches[0].id).values(revoked_at=datetime.now(UTC))
        )
    return matches[0]
