"""A workspace's own generation kinds: immutable numbered versions, like prompt versions.

Saving a kind whose body equals its latest version returns that version (a retried POST
makes no new version); a changed body becomes the next version.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from evalbook.core.kind import GenerationKind
from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["latest_kinds", "save_kind", "workspace_kind"]


def save_kind(store: Store, workspace_id: str, kind: GenerationKind) -> tuple[GenerationKind, bool]:
    """Record ``kind`` (its ``version`` is assigned); returns it and whether it is new."""
    body_hash = kind.hash
    with store.write() as conn:
        latest = conn.execute(
            sa.select(t.kinds.c.version, t.kinds.c.hash, t.kinds.c.body)
            .where(t.kinds.c.workspace_id == workspace_id, t.kinds.c.name == kind.name)
            .order_by(t.kinds.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.hash == body_hash:
            return GenerationKind.model_validate(latest.body), False
        version = 1 if latest is None else latest.version + 1
        saved = kind.model_copy(update={"version": version})
        conn.execute(
            sa.insert(t.kinds).values(
                workspace_id=workspace_id,
                name=kind.name,
                version=version,
                hash=body_hash,
                body=saved.model_dump(mode="json"),
                created_at=datetime.now(UTC),
            )
        )
    return saved, True


def latest_kinds(store: Store, workspace_id: str) -> dict[str, GenerationKind]:
    """The newest version of each kind the workspace defined."""
    newest = (
        sa.select(t.kinds.c.name, sa.func.max(t.kinds.c.version).label("version"))
        .where(t.kinds.c.workspace_id == workspace_id)
        .group_by(t.kinds.c.name)
        .subquery()
    )
    query = (
        sa.select(t.kinds.c.body)
        .join(
            newest,
            sa.and_(t.kinds.c.name == newest.c.name, t.kinds.c.version == newest.c.version),
        )
        .where(t.kinds.c.workspace_id == workspace_id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    kinds = [GenerationKind.model_validate(r.body) for r in rows]
    return {k.name: k for k in sorted(kinds, key=lambda k: k.name)}


def workspace_kind(
    store: Store, workspace_id: str, name: str, version: int | None = None
) -> GenerationKind | None:
    """One version (default the newest) of a workspace's kind, or ``None``."""
    query = sa.select(t.kinds.c.body).where(
        t.kinds.c.workspace_id == workspace_id, t.kinds.c.name == name
    )
    if version is not None:
        query = query.where(t.kinds.c.version == version)
    with store.engine.connect() as conn:
        row = conn.execute(query.order_by(t.kinds.c.version.desc()).limit(1)).first()
    return None if row is None else GenerationKind.model_validate(row.body)
