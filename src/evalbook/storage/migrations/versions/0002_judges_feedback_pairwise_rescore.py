"""judge usage on scores, judge cost and rescore link on runs, human feedback, pairwise judgements

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:16:47.614980
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pairwise_comparisons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("baseline_run_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_run_id", sa.String(length=36), nullable=False),
        sa.Column("criterion", sa.String(length=200), nullable=False),
        sa.Column(
            "judge",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["baseline_run_id"],
            ["runs.id"],
            name=op.f("fk_pairwise_comparisons_baseline_run_id_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_run_id"],
            ["runs.id"],
            name=op.f("fk_pairwise_comparisons_candidate_run_id_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairwise_comparisons")),
    )
    with op.batch_alter_table("pairwise_comparisons", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pairwise_comparisons_runs", ["baseline_run_id", "candidate_run_id"], unique=False
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("result_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=300), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"], ["results.id"], name=op.f("fk_feedback_result_id_results")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_feedback_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_result_id", ["result_id"], unique=False)
        batch_op.create_index(
            "ix_feedback_run_id_created_at", ["run_id", "created_at"], unique=False
        )

    op.create_table(
        "pairwise_judgments",
        sa.Column("comparison_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=300), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("candidate_first", sa.String(length=20), nullable=True),
        sa.Column("baseline_first", sa.String(length=20), nullable=True),
        sa.Column("length_diff", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["pairwise_comparisons.id"],
            name=op.f("fk_pairwise_judgments_comparison_id_pairwise_comparisons"),
        ),
        sa.PrimaryKeyConstraint(
            "comparison_id", "case_id", "epoch", name=op.f("pk_pairwise_judgments")
        ),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rescored_from", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("judge_cost", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("judge_token_count", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_rescored_from"), ["rescored_from"], unique=False)

    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("output_tokens", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cost_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_column("cost_usd")
        batch_op.drop_column("output_tokens")
        batch_op.drop_column("input_tokens")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_rescored_from"))
        batch_op.drop_column("judge_token_count")
        batch_op.drop_column("judge_cost")
        batch_op.drop_column("rescored_from")

    op.drop_table("pairwise_judgments")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_run_id_created_at")
        batch_op.drop_index("ix_feedback_result_id")

    op.drop_table("feedback")
    with op.batch_alter_table("pairwise_comparisons", schema=None) as batch_op:
        batch_op.drop_index("ix_pairwise_comparisons_runs")

    op.drop_table("pairwise_comparisons")
