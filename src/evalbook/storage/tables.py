"""The schema, as SQLAlchemy Core tables. Alembic migrations under ``migrations/`` build it;
a test checks that they agree."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

suites = sa.Table(
    "suites",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("suite_id", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("case_count", sa.Integer, nullable=False),
    sa.Column("definition", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

#: Immutable numbered prompt versions, per workspace: another workspace may number its own
#: prompt of the same name differently, and never learns that this one exists.
prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
    sa.Column("workspace_id", sa.String(36), primary_key=True),
    sa.Column("prompt_name", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

model_configs = sa.Table(
    "model_configs",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("config", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("run_date", sa.String(10)),
    sa.Column("score", sa.Float),
    sa.Column("passed", sa.Boolean),
    sa.Column("duration_ms", sa.Float),
    sa.Column("token_count", sa.BigInteger),
    sa.Column("input_token_count", sa.BigInteger),
    sa.Column("output_token_count", sa.BigInteger),
    sa.Column("cost", sa.Float),
    sa.Column("error_rate", sa.Float),
    sa.Column("feedback_scores", sa.Text),
    sa.Column("alias", sa.String(200), index=True),
    sa.Column("label", sa.String(200)),
    sa.Column("experiment_id", sa.String(200), index=True),
    sa.Column("suite_id", sa.String(200), nullable=False, index=True),
    sa.Column("suite_name", sa.String(300), nullable=False),
    sa.Column("suite_version", sa.String(100), nullable=False),
    sa.Column("suite_hash", sa.String(64), sa.ForeignKey("suites.hash"), nullable=False),
    sa.Column("prompt_name", sa.String(200), nullable=False),
    sa.Column("prompt_version", sa.Integer, nullable=False),
    sa.Column("prompt_hash", sa.String(64), nullable=False),
    sa.Column("model", JSON, nullable=False),
    sa.Column("model_hash", sa.String(64), sa.ForeignKey("model_configs.hash"), nullable=False),
    sa.Column("tier", sa.String(40)),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("total_count", sa.Integer, nullable=False, default=0),
    sa.Column("passed_count", sa.Integer, nullable=False, default=0),
    sa.Column("failed_count", sa.Integer, nullable=False, default=0),
    sa.Column("errored_count", sa.Integer, nullable=False, default=0),
    sa.Column("cached_count", sa.Integer, nullable=False, default=0),
    sa.Column("options", JSON, nullable=False),
    sa.Column("metrics", JSON, nullable=False),
    sa.Column("stop_reason", sa.Text),
    sa.Column("resumed_from", sa.String(36)),
    sa.Column("rescored_from", sa.String(36), index=True),
    # The server's queue: the workspace a run belongs to, who holds it and until when
    # (a worker renews its lease; an expired lease means the worker died and the run is
    # picked up again), a cancel request, and the idempotency key of the POST that made it.
    sa.Column("workspace_id", sa.String(36), nullable=False, server_default="default"),
    sa.Column("queued_at", TS),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_expires_at", TS),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("archived_at", TS),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("judge_cost", sa.Float),
    sa.Column("judge_token_count", sa.BigInteger),
    sa.Column("evalbook_version", sa.String(40), nullable=False),
    sa.Column("created_at", TS, nullable=False, index=True),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    # The run list's order (newest first by ``(created_at, id)``), keyset pages included.
    sa.Index("ix_runs_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    sa.Index(
        "ix_runs_workspace_id_suite_hash_created_at", "workspace_id", "suite_hash", "created_at"
    ),
    sa.Index("ix_runs_status_lease_expires_at", "status", "lease_expires_at"),
    sa.UniqueConstraint("workspace_id", "idempotency_key"),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # No foreign key to runs (since 0010): the result writer checks and locks each run of
    # a batch once (storage/bulk.py); the key's per-row check was the largest part of
    # PostgreSQL's time writing results.
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("case_id", sa.String(300), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("failure_reason", sa.String(20)),
    sa.Column("score", sa.Float),
    sa.Column("section", sa.String(200)),
    sa.Column("prompt", sa.Text),
    sa.Column("output", sa.Text),
    sa.Column("expected", sa.Text),
    sa.Column("latency_ms", sa.Float),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("cost_usd", sa.Float),
    sa.Column("cached", sa.Boolean, nullable=False),
    sa.Column("served_model", sa.String(500)),
    sa.Column("system_fingerprint", sa.String(200)),
    sa.Column("cache_key", sa.String(64)),
    sa.Column("error_type", sa.String(100)),
    sa.Column("error_message", sa.Text),
    sa.Column("body", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("run_id", "case_id", "epoch"),
    sa.Index("ix_results_run_id_seq", "run_id", "seq"),
)

scores = sa.Table(
    "scores",
    metadata,
    # No foreign key to results (since 0007): only the result writer adds scores, with their
    # result, and results are never deleted; the key's per-row check cost a fifth of
    # PostgreSQL's write time.
    sa.Column("result_id", sa.String(36), primary_key=True),
    sa.Column("scorer_id", sa.String(40), primary_key=True),
    sa.Column("run_id", sa.String(36), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("passed", sa.Boolean),
    sa.Column("label", sa.String(200)),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("threshold", sa.Float),
    sa.Column("higher_is_better", sa.Boolean, nullable=False),
    sa.Column("evidence", JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("spec", JSON, nullable=False),
    # What the scorer itself spent on a model (judges), kept apart from the run's cost.
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("cost_usd", sa.Float),
)

#: Human feedback on a result: appended, never updated or deleted (seed 000's
#: feedback_scores is derived from it).
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("result_id", sa.String(36), sa.ForeignKey("results.id"), nullable=False),
    sa.Column("case_id", sa.String(300), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("label", sa.String(200)),
    sa.Column("comment", sa.Text),
    sa.Column("author", sa.String(200)),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_feedback_run_id_created_at", "run_id", "created_at"),
    sa.Index("ix_feedback_result_id", "result_id"),
)

#: A pairwise judgement of a candidate run against a baseline run (both orders per case).
pairwise_comparisons = sa.Table(
    "pairwise_comparisons",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("baseline_run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("candidate_run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("criterion", sa.String(200), nullable=False),
    sa.Column("judge", JSON, nullable=False),
    sa.Column("template", sa.String(200), nullable=False),
    sa.Column("summary", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_pairwise_comparisons_runs", "baseline_run_id", "candidate_run_id"),
)

pairwise_judgments = sa.Table(
    "pairwise_judgments",
    metadata,
    sa.Column(
        "comparison_id",
        sa.String(36),
        sa.ForeignKey("pairwise_comparisons.id"),
        primary_key=True,
    ),
    sa.Column("case_id", sa.String(300), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("candidate_first", sa.String(20)),
    sa.Column("baseline_first", sa.String(20)),
    sa.Column("length_diff", sa.Integer),
    sa.Column("cost_usd", sa.Float),
    sa.Column("detail", JSON, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("scope", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Float),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("higher_is_better", sa.Boolean, nullable=False),
)

cache = sa.Table(
    "cache",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(200), nullable=False, index=True),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("model", sa.String(500), nullable=False),
    sa.Column("response", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

#: Tenants of a server. Every run, suite and prompt reference, key and webhook has one.
workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
)

#: API keys, stored as sha256 of the key (the key itself is shown once, at creation).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("workspace_id", sa.String(36), sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(20), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used_at", TS),
    sa.Column("revoked_at", TS),
)

#: Which suite versions a workspace has (the definitions themselves are content-addressed
#: and shared; a workspace only sees what it registered or ran).
workspace_suites = sa.Table(
    "workspace_suites",
    metadata,
    sa.Column("workspace_id", sa.String(36), primary_key=True),
    sa.Column("suite_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(100), primary_key=True),
    sa.Column("suite_hash", sa.String(64), sa.ForeignKey("suites.hash"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    # The registered suite's ``derived_metrics:`` (since 0010; not part of its content
    # hash, so the shared definition cannot hold them). NULL: none, or registered before.
    sa.Column("derived_metrics", JSON),
)

#: Generation kinds a workspace defined (``POST /api/kinds``): immutable numbered versions.
kinds = sa.Table(
    "kinds",
    metadata,
    sa.Column("workspace_id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("body", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

#: A run's progress as an ordered log (item done, status change, summary), so a stream can
#: resume from ``Last-Event-ID`` and follow a run executed by another process.
run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("data", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_run_events_run_id_id", "run_id", "id"),
)

#: Webhook subscriptions; the signing secret is derived from the server's key and the
#: webhook id, never stored.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("workspace_id", sa.String(36), sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", JSON, nullable=False),
    sa.Column("allow_private", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("webhook_id", sa.String(36), sa.ForeignKey("webhooks.id"), nullable=False),
    sa.Column("run_id", sa.String(36), nullable=False),
    sa.Column("event", sa.String(60), nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS),
    sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    sa.UniqueConstraint("webhook_id", "run_id", "event"),
)

#: The shards of a run executed by a fleet (Celery): ranges ``[seq_start, seq_stop)`` of
#: the plan's items, each held by one worker under a lease. ``idx = -1`` is the run's
#: finish: claimed by whoever sees every shard settled, so a run finishes exactly once.
run_shards = sa.Table(
    "run_shards",
    metadata,
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("seq_start", sa.Integer, nullable=False),
    sa.Column("seq_stop", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # queued | running | done | canceled
    sa.Column("owner", sa.String(100)),
    sa.Column("lease_expires_at", TS),
    sa.Column("deliveries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stop_reason", sa.Text),
    sa.Column("updated_at", TS, nullable=False),
    # On the run's finish row (idx -1): the part of the run's max_cost handed out to its
    # shards (since 0009; before, runs.cost held it while the run ran).
    sa.Column("budget", sa.Float),
    sa.Index("ix_run_shards_status_lease_expires_at", "status", "lease_expires_at"),
)
