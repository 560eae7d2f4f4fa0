"""results no longer check their run through a foreign key; a registered suite keeps its
derived metrics

``results.run_id → runs.id`` was checked per result row: an index lookup on ``runs`` and
a row lock on the run, taken again for every row of a batch (all of one run). It was the
largest single cost of PostgreSQL's time writing results (measured 30–35 → 22–24 µs of
server CPU per result with two scores). The result writer (``storage/bulk.py``) now checks
and locks each run of a batch once (``SELECT … FOR KEY SHARE`` on PostgreSQL), which keeps
the guarantee the key gave: a result is never written for a run that is not recorded, and
a run cannot be deleted while a batch of its results is being written. On SQLite the
table is rebuilt without the key (Alembic's batch mode), keeping every row and index.

``workspace_suites.derived_metrics``: the ``derived_metrics:`` of a suite registered
through the server (``POST /api/suites``). They are not part of the suite's content hash,
so the shared definition cannot hold them; the workspace's registration does, and a run
launched from it computes them. ``NULL`` for registrations made before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_constraint("fk_results_run_id_runs", type_="foreignkey")
    with op.batch_alter_table("workspace_suites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("derived_metrics", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace_suites", schema=None) as batch_op:
        batch_op.drop_column("derived_metrics")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_results_run_id_runs", "runs", ["run_id"], ["id"])
