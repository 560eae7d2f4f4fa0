"""The rows behind the product-graph view (seed 000) of one workspace: its runs, the
metrics they produced and the model configs they used, counted and paged in SQL (a
workspace may hold many runs, each with a few dozen metrics)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunRecord
from evalbook.storage import tables as t
from evalbook.storage.rows import row_to_run
from evalbook.storage.store import Store

__all__ = ["count_metrics", "count_runs", "metric_rows", "model_rows", "run_rows"]


def count_runs(store: Store, workspace_id: str) -> int:
    c = t.runs.c
    q = sa.select(sa.func.count()).select_from(t.runs).where(c.workspace_id == workspace_id)
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def run_rows(store: Store, workspace_id: str, offset: int, limit: int) -> list[RunRecord]:
    """The workspace's runs, archived ones included, newest first."""
    c = t.runs.c
    q = (
        sa.select(t.runs)
        .where(c.workspace_id == workspace_id)
        .order_by(c.created_at.desc(), c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [row_to_run(row) for row in conn.execute(q)]


def _metrics_query(workspace_id: str) -> sa.Select[Any]:
    m, r = t.metrics.c, t.runs.c
    return sa.select(t.metrics).join(t.runs, r.id == m.run_id).where(r.workspace_id == workspace_id)


def count_metrics(store: Store, workspace_id: str) -> int:
    q = sa.select(sa.func.count()).select_from(_metrics_query(workspace_id).subquery())
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def metric_rows(store: Store, workspace_id: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """Metric rows of the workspace's runs (newest run first, then scope and name)."""
    m, r = t.metrics.c, t.runs.c
    q = (
        _metrics_query(workspace_id)
        .order_by(r.created_at.desc(), r.id.desc(), m.scope, m.name)
        .offset(offset)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(q)]


def model_rows(store: Store, workspace_id: str) -> list[dict[str, Any]]:
    """The model configs the workspace's runs used, by provider and name."""
    mc, r = t.model_configs.c, t.runs.c
    used = sa.select(r.model_hash).where(r.workspace_id == workspace_id).distinct()
    q = (
        sa.select(mc.hash, mc.provider, mc.name, mc.config)
        .where(mc.hash.in_(used))
        .order_by(mc.provider, mc.name, mc.hash)
    )
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(q)]
