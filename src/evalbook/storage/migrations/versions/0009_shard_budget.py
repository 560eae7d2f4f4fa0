"""run_shards holds a sharded run's handed-out budget, so runs.cost is what was spent

A run executed by a fleet shares its ``max_cost`` among its shards, which draw it in
slices from one counter. That counter was ``runs.cost``: while the run ran, its cost
showed the budget handed out rather than what was spent, and a shard that gave its
unspent slice back after the run had finished changed the finished run's cost. The
counter moves to the run's finish row of ``run_shards`` (``idx = -1``); ``runs.cost``
is the cost of the results recorded so far while the run runs, and the run's cost at its
end.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_shards") as batch:
        batch.add_column(sa.Column("budget", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_shards") as batch:
        batch.drop_column("budget")
