"""scores no longer check their result through a foreign key

Every score row is written by the result writer (``storage/bulk.py``) in the same
transaction as its result, and only for a result that statement writes; results are never
deleted. The foreign key ``scores.result_id → results.id`` therefore never refused a row,
and its check (a lookup and a row lock on the result, per score, two or more per result)
cost about a fifth of PostgreSQL's time writing results (measured 8–10 µs of 45–55 µs per
result with two scores). ``results.run_id → runs.id`` stays: it keeps a run from being
deleted while a worker still writes its results. On SQLite the table is rebuilt without
the key (Alembic's batch mode), keeping every row and index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_constraint("fk_scores_result_id_results", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_scores_result_id_results", "results", ["result_id"], ["id"])
