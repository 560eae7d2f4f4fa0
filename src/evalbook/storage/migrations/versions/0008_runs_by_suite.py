"""runs are indexed by workspace, suite version and creation time

Which suite versions a workspace has used, and when each was first used, is asked on
every launch (``POST /api/runs`` resolves the latest version of the suite it names), on
the suites pages and in the product graph. Without an index on ``runs.suite_hash`` the
database read every run of the workspace to answer it (3.7 ms at 10,000 runs on SQLite,
growing with every run recorded). With ``(workspace_id, suite_hash, created_at)`` a
suite version's first run is one index lookup (``storage/catalog.suite_refs``), and
counting a suite's runs reads the index only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_runs_workspace_id_suite_hash_created_at",
        "runs",
        ["workspace_id", "suite_hash", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_runs_workspace_id_suite_hash_created_at", table_name="runs")
