"""Fixture databases of every released schema, with realistic rows in every table.

A database at head is filled the way evalbook fills it (two finished runs with judge and human
scorers, feedback, a pairwise comparison, a workspace with a key, a registered suite, a webhook
with a delivery, run events, a kind, an image blob, cached responses). A database of an older
schema is built by migrating an empty database to that revision and copying those rows into
it, keeping only the columns that revision had: exactly the rows that release wrote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import evalbook
from evalbook.core.kind import GenerationKind, KindMessage
from evalbook.core.pairwise import PairwiseJudgment
from evalbook.storage import shards
from evalbook.storage import tables as t
from evalbook.storage.catalog import register_suite
from evalbook.storage.db import MIGRATIONS, head_revision, make_engine, upgrade
from evalbook.storage.feedback import add_feedback
from evalbook.storage.kinds import save_kind
from evalbook.storage.pairwise import add_judgments, create_comparison, finish_comparison
from evalbook.storage.run_events import append_events
from evalbook.storage.store import Store
from evalbook.storage.webhooks import create_webhook, enqueue_deliveries
from evalbook.storage.workspaces import create_key, ensure_workspace
from evalbook.suites import load_suite_from_dict
from tests.storage.feedback_runs import reviewed_run

Rows = dict[str, list[dict[str, Any]]]


def released_revisions() -> list[str]:
    """Every schema revision before head, oldest first."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    revisions = [s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()]
    head = head_revision()
    return [r for r in reversed(revisions) if r != head]


async def populate_head(store: Store) -> str:
    """Fill a head database through evalbook's own writers: a row in every table. Returns
    the API key it made (the first, so it holds the runs recorded before it)."""
    first = await reviewed_run(store)
    second = await reviewed_run(store)  # answered from the response cache
    add_feedback(store, first.id, "c1", score=4.0, comment="clear", author="ana")
    add_feedback(store, first.id, "c2", name="helpfulness", label="poor", author="ben")
    comparison = create_comparison(
        store,
        baseline_run_id=first.id,
        candidate_run_id=second.id,
        criterion="helpfulness",
        judge={"provider": "mock", "name": "judge"},
        template="pairwise-v1",
    )
    add_judgments(
        store,
        comparison.id,
        [
            PairwiseJudgment(
                case_id="c0",
                outcome="tie",
                candidate_first="tie",
                baseline_first="tie",
                length_diff=0,
                cost_usd=0.0,
                detail={"candidate_first": {"reason": "same"}},
            ),
            PairwiseJudgment(
                case_id="c1", outcome="error", candidate_first=None, baseline_first="A"
            ),
        ],
    )
    finish_comparison(store, comparison.id, {"status": "completed", "wins": 0, "ties": 1})
    key, _ = create_key(store, "team", "ci")  # the first key: its workspace holds the runs
    workspace = ensure_workspace(store, "team")
    images = load_suite_from_dict(
        {
            "id": "images",
            "model": "mock:echo",
            "prompt": "describe {{ q }}",
            "cases": [{"id": "i0", "vars": {"q": "a cat"}}],
        }
    )
    register_suite(store, workspace.id, images)
    register_suite(store, ensure_workspace(store, "lab").id, images)  # a prompt two hold
    derived = {"name": "scored", "expression": "__count * 2"}
    measured = load_suite_from_dict(
        {
            "id": "measured",
            "model": "mock:echo",
            "prompt": "say {{ q }}",
            "scorers": [{"type": "contains", "value": "x"}],
            "derived_metrics": [derived],
            "cases": [{"id": "m0", "vars": {"q": "x"}}],
        }
    )
    register_suite(store, workspace.id, measured)  # kept with its derived metrics (0010)
    hook = create_webhook(
        store,
        workspace.id,
        "https://hooks.example.test/evalbook",
        ["eval.completed"],
        allow_private=False,
    )
    enqueue_deliveries(store, first.id, "eval.completed", [(hook.id, {"run_id": first.id})])
    append_events(
        store,
        [
            (first.id, "progress", {"done": 2, "total": 4}),
            (first.id, "finished", {"status": "completed"}),
        ],
    )
    save_kind(
        store,
        workspace.id,
        GenerationKind(name="qa", messages=[KindMessage(role="user", content="{{ q }}")]),
    )
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(t.blobs),
            [{"sha256": "ab" * 32, "media_type": "image/png", "data": b"\x89PNG\r\n\x1a\nfixture"}],
        )
    await evalbook.arun(images, store=store)
    shards.create(store, second.id, shards.plan(4, 2))  # as a fleet records a run
    return key


def read_rows(engine: sa.Engine) -> Rows:
    """Every row of every table of the head schema, in a comparable form."""
    rows: Rows = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows[table.name] = [
                {k: comparable(v) for k, v in r._mapping.items()}
                for r in conn.execute(sa.select(table))
            ]
    return rows


def comparable(value: Any) -> Any:
    """Datetimes as UTC without zone, JSON as its canonical text: equal across dialects."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _in_key_order() -> list[sa.Table]:
    """Head's tables, each after those it refers to in every released schema, which head's
    metadata no longer says of all: until 0007 scores referred to results, and until 0010
    results referred to runs, by a foreign key."""
    order = [x for x in t.metadata.sorted_tables if x not in (t.results, t.scores)]
    order.insert(order.index(t.runs) + 1, t.results)  # before feedback, which refers to it
    return [*order, t.scores]


def _raw_rows(engine: sa.Engine) -> Rows:
    rows: Rows = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows[table.name] = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    return rows


def _legacy_rows(rows: Rows) -> Rows:
    """Rows of tables that head no longer has, as the release that had them wrote them:
    until 0006 ``workspace_prompts`` said which workspaces held a (global) prompt version."""
    return {
        "workspace_prompts": [
            {k: _aware(r[k]) for k in ("workspace_id", "prompt_name", "version", "created_at")}
            for r in rows["prompt_versions"]
        ]
    }


def build_released(url: str, revision: str, source: sa.Engine) -> dict[str, list[str]]:
    """Migrate the (empty) database at ``url`` to ``revision`` and copy the rows of
    ``source`` into the tables and columns that revision has. Where a column that keys head's
    rows is missing (prompt versions were global before 0006), the first row of each key
    that revision had is kept. Returns the columns kept."""
    engine = make_engine(url)
    try:
        upgrade(engine, revision)
        inspector = sa.inspect(engine)
        present = set(inspector.get_table_names())
        kept: dict[str, list[str]] = {}
        rows = _raw_rows(source)
        with engine.begin() as conn:
            for name, legacy in _legacy_rows(rows).items():
                if name in present:
                    conn.execute(sa.Table(name, sa.MetaData(), autoload_with=conn).insert(), legacy)
            for table in _in_key_order():
                if table.name not in present:
                    continue
                columns = {c["name"] for c in inspector.get_columns(table.name)}
                key = inspector.get_pk_constraint(table.name)["constrained_columns"]
                old = sa.Table(
                    table.name,
                    sa.MetaData(),
                    *[
                        sa.Column(c.name, c.type, key=c.key)
                        for c in table.columns
                        if c.name in columns
                    ],
                )
                kept[table.name] = [c.name for c in old.columns]
                values = list(
                    {
                        tuple(row[k] for k in key): {
                            k: _aware(v) for k, v in row.items() if k in columns
                        }
                        for row in reversed(rows[table.name])
                    }.values()
                )
                if values:
                    conn.execute(sa.insert(old), values)
        return kept
    finally:
        engine.dispose()


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def drop_all(engine: sa.Engine) -> None:
    """An empty database, whatever schema it held."""
    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
    names = set(sa.inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in reversed(_in_key_order()):
            if table.name in names:
                conn.execute(sa.text(f"DROP TABLE {table.name}{cascade}"))
        for name in names - set(t.metadata.tables):
            conn.execute(sa.text(f"DROP TABLE {name}{cascade}"))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"
