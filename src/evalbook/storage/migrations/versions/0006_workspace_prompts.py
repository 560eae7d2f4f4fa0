"""prompt versions belong to a workspace

Until 0005 a prompt version was global: two workspaces could not hold the same prompt name
and version with different content, and the second one's refusal told it that the other
existed. Now ``(workspace, name, version)`` is the key. Every recorded version is copied into
each workspace that registered it (``workspace_prompts``) or ran it (``runs``), dated by
when that workspace first had it; a version nobody references goes to the default
workspace. ``workspace_prompts`` is then redundant (a workspace's prompt versions are its
rows) and is dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 08:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

#: Who holds each prompt version, and since when: its first registration or run there (what
#: ``GET /api/prompts/…`` showed as ``created_at`` before this revision, and still shows).
_OWNERS = """
    SELECT workspace_id, prompt_name, version, MIN(held_since) AS held_since FROM (
        SELECT workspace_id, prompt_name, prompt_version AS version, created_at AS held_since
        FROM runs
        UNION ALL
        SELECT workspace_id, prompt_name, version, created_at FROM workspace_prompts
    ) holders GROUP BY workspace_id, prompt_name, version
"""


def upgrade() -> None:
    op.rename_table("prompt_versions", "prompt_versions_0005")
    if op.get_bind().dialect.name == "postgresql":  # constraint names are schema-wide there
        op.execute(
            "ALTER TABLE prompt_versions_0005 RENAME CONSTRAINT pk_prompt_versions"
            " TO pk_prompt_versions_0005"
        )
    op.create_table(
        "prompt_versions",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("prompt_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "prompt_name", "version", name=op.f("pk_prompt_versions")
        ),
    )
    op.execute(
        "INSERT INTO prompt_versions (workspace_id, prompt_name, version, hash, body, created_at)"
        " SELECT o.workspace_id, p.prompt_name, p.version, p.hash, p.body, o.held_since"
        f" FROM prompt_versions_0005 p JOIN ({_OWNERS}) o"
        " ON o.prompt_name = p.prompt_name AND o.version = p.version"
    )
    op.execute(
        "INSERT INTO prompt_versions (workspace_id, prompt_name, version, hash, body, created_at)"
        " SELECT 'default', p.prompt_name, p.version, p.hash, p.body, p.created_at"
        " FROM prompt_versions_0005 p WHERE NOT EXISTS ("
        f"  SELECT 1 FROM ({_OWNERS}) o"
        "   WHERE o.prompt_name = p.prompt_name AND o.version = p.version)"
    )
    op.drop_table("prompt_versions_0005")
    op.drop_table("workspace_prompts")


def downgrade() -> None:
    # Versions that two workspaces hold with different content cannot both stay: the
    # oldest wins (a global key cannot hold both).
    op.create_table(
        "workspace_prompts",
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("prompt_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "prompt_name", "version", name=op.f("pk_workspace_prompts")
        ),
    )
    op.execute(
        "INSERT INTO workspace_prompts (workspace_id, prompt_name, version, created_at)"
        " SELECT workspace_id, prompt_name, version, created_at FROM prompt_versions"
    )
    op.rename_table("prompt_versions", "prompt_versions_0006")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE prompt_versions_0006 RENAME CONSTRAINT pk_prompt_versions"
            " TO pk_prompt_versions_0006"
        )
    op.create_table(
        "prompt_versions",
        sa.Column("prompt_name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("prompt_name", "version", name=op.f("pk_prompt_versions")),
    )
    op.execute(
        "INSERT INTO prompt_versions (prompt_name, version, hash, body, created_at)"
        " SELECT p.prompt_name, p.version, p.hash, p.body, p.created_at"
        " FROM prompt_versions_0006 p WHERE NOT EXISTS ("
        "  SELECT 1 FROM prompt_versions_0006 q WHERE q.prompt_name = p.prompt_name"
        "   AND q.version = p.version AND (q.created_at < p.created_at"
        "    OR (q.created_at = p.created_at AND q.workspace_id < p.workspace_id)))"
    )
    op.drop_table("prompt_versions_0006")
