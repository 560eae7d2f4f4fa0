"""Result rows as domain results: with their scores and their image blobs, read in the
same connection (a page, a run's results, one result)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from evalbook.core.result import Result
from evalbook.storage import tables as t
from evalbook.storage.rows import rows_to_result

__all__ = ["hydrate"]


def hydrate(conn: sa.Connection, rows: Sequence[Any]) -> list[Result]:
    """Result rows with their scores and image blobs, as domain results."""
    query = sa.select(t.scores).where(t.scores.c.result_id.in_([r.id for r in rows]))
    run_ids = {r.run_id for r in rows}
    # The usual page of one run: PostgreSQL reads its scores by the run's index. Not
    # SQLite: without ANALYZE statistics it would then scan every score of the run
    # (200,000 rows for 100,000 cases) instead of looking up the page's by key.
    if len(run_ids) == 1 and conn.dialect.name == "postgresql":
        query = query.where(t.scores.c.run_id == next(iter(run_ids)))
    srows = conn.execute(query.order_by(t.scores.c.scorer_id)).all()
    shas = {
        p["sha256"]
        for r in rows
        for m in r.body.get("messages", [])
        if isinstance(m["content"], list)
        for p in m["content"]
        if p.get("type") == "image"
    }
    blobs = {}
    if shas:
        for b in conn.execute(sa.select(t.blobs).where(t.blobs.c.sha256.in_(shas))):
            blobs[b.sha256] = base64.b64encode(b.data).decode()
    by_result: dict[str, list[Any]] = {}
    for s in srows:
        by_result.setdefault(s.result_id, []).append(s)
    return [rows_to_result(r, by_result.get(r.id, []), blobs) for r in rows]
