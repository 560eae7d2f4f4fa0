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

prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
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
    sa.Column("judge_cost", sa.Float),
    sa.Column("judge_token_count", sa.BigInteger),
    sa.Column("evalbook_version", sa.String(40), nullable=False),
    sa.Column("created_at", TS, nullable=False, index=True),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
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
    sa.Column("result_id", sa.String(36), sa.ForeignKey("results.id"), primary_key=True),
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
