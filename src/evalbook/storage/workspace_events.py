"""Every run's events of one workspace, in log order: the board's single live stream.

A browser tab watching twenty runs holds one connection, not twenty. Event ids are one
sequence for the whole log, so one cursor (``Last-Event-ID``) resumes every run at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["WorkspaceEvent", "last_event_id", "workspace_events"]


@dataclass(frozen=True)
class WorkspaceEvent:
    id: int
    run_id: str
    kind: str
    data: dict[str, Any]


def last_event_id(store: Store) -> int:
    """The newest event id of the whole log (0 when empty): where a page that has just
    read the state of its runs starts following."""
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(t.run_events.c.id))).scalar_one_or_none()
    return int(found or 0)


def workspace_events(
    store: Store, workspace_id: str, *, after: int, limit: int = 500
) -> list[WorkspaceEvent]:
    """Events of the workspace's runs with an id above ``after``, oldest first."""
    e, r = t.run_events.c, t.runs.c
    query = (
        sa.select(e.id, e.run_id, e.kind, e.data)
        .join(t.runs, r.id == e.run_id)
        .where(e.id > after, r.workspace_id == workspace_id)
        .order_by(e.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [
            WorkspaceEvent(int(row.id), row.run_id, row.kind, row.data)
            for row in conn.execute(query)
        ]
