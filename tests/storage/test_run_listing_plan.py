"""The run list (``GET /api/runs``, newest first by ``(created_at, id)``, keyset pages)
is read in index order on SQLite and PostgreSQL: no sort of the workspace's runs per page
(``ix_runs_workspace_id_created_at_id``, schema 0011)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.runs import RunFilter, _listing
from evalbook.storage.store import Store

AFTER = (datetime(2026, 12, 5, 10, 0, tzinfo=UTC), "5d1c8a2e-0000-4000-8000-000000000000")


def _plan(store: Store, after: tuple[datetime, str] | None) -> str:
    q = _listing(store, sa.select(t.runs), "w", RunFilter(), limit=51, after=after)
    sql = str(q.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            return " | ".join(str(row[-1]) for row in rows)
        # The table is nearly empty: the planner would rightly read it whole. Forbid what
        # it could fall back on (a scan, a sort) to see whether an index gives the order.
        for knob in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            conn.exec_driver_sql(f"SET LOCAL {knob} = off")
        return " | ".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))


def test_a_page_of_runs_is_read_in_index_order(store: Store) -> None:
    for after in (None, AFTER):
        plan = _plan(store, after)
        assert "ix_runs_workspace_id_created_at_id" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
