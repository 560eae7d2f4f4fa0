"""Runs and results as a workspace sees them: filtered, scoped, paged by keyset.

The REST API, the pages and the CLI (through ``Store.list_runs``) list runs here. Pages
are keyset ("after this row"), not offsets: runs arrive all the time, and an offset would
shift under a client walking the list. Runs are ordered newest first
by ``(created_at, id)``; results in plan order by ``seq``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from evalbook.core.result import Result
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.queue import is_interrupted
from evalbook.storage.rows import as_utc, row_to_run
from evalbook.storage.store import Store

__all__ = [
    "Gone",
    "ResultFilter",
    "RunFilter",
    "WorkspaceRun",
    "asks_for_review",
    "awaiting_review",
    "count_awaiting_review",
    "count_results",
    "get_workspace_run",
    "list_workspace_runs",
    "query_results",
    "result_seq",
    "workspace_run",
]


@dataclass(frozen=True)
class RunFilter:
    """Every field narrows the list; ``archived`` picks archived runs instead of live ones
    (``None``: both)."""

    suite_id: str | None = None
    prompt: str | None = None
    prompt_version: int | None = None
    alias: str | None = None
    status: str | None = None
    tag: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    archived: bool | None = False
    #: ``provider:name`` or just the model's name.
    model: str | None = None
    #: A case-insensitive substring of the run's id, title, alias, label, suite or prompt.
    q: str | None = None
    #: Only completed, failed and canceled runs (the archive).
    finished: bool = False


#: Judges a lease owner's process dead (``executor.lease.owner_gone``): the server passes
#: it so that a killed CLI run shows as interrupted at once, not once its lease expires.
Gone = Callable[[str], bool]


@dataclass(frozen=True)
class WorkspaceRun:
    """A run with the queue columns the run record itself does not carry. ``interrupted``:
    the run is pending or running but the process executing it is gone (see
    ``queue.is_interrupted``); it stays so until resumed or canceled."""

    run: RunRecord
    queued_at: datetime | None
    cancel_requested: bool
    interrupted: bool = False

    @property
    def state(self) -> str:
        """What a page shows: the recorded status, or ``interrupted``."""
        return "interrupted" if self.interrupted else self.run.status.value


def workspace_run(row: Any, gone: Gone | None = None) -> WorkspaceRun:
    """A :class:`WorkspaceRun` of a whole ``runs`` row."""
    m = row._mapping
    return WorkspaceRun(
        row_to_run(row),
        as_utc(m["queued_at"]),
        bool(m["cancel_requested"]),
        is_interrupted(row, gone=gone),
    )


def _has_tag(store: Store, tag: str) -> sa.ColumnElement[bool]:
    tags = t.runs.c.tags
    if store.dialect == "postgresql":
        return sa.cast(tags, JSONB).op("@>")(sa.cast(sa.literal(json.dumps([tag])), JSONB))
    each = sa.func.json_each(tags).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == tag))


def list_workspace_runs(
    store: Store,
    workspace_id: str | None,
    flt: RunFilter,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
    gone: Gone | None = None,
) -> list[WorkspaceRun]:
    """Up to ``limit`` runs of the workspace matching ``flt``, newest first, starting
    after the ``(created_at, id)`` of the last run of the previous page. The one run
    listing: ``workspace_id=None`` lists every workspace's (the local CLI's view,
    ``Store.list_runs``)."""
    c = t.runs.c
    q = sa.select(t.runs)
    if workspace_id is not None:
        q = q.where(c.workspace_id == workspace_id)
    equal = {
        c.suite_id: flt.suite_id,
        c.prompt_name: flt.prompt,
        c.prompt_version: flt.prompt_version,
        c.alias: flt.alias,
        c.status: flt.status,
    }
    for column, value in equal.items():
        if value is not None:
            q = q.where(column == value)
    if flt.tag is not None:
        q = q.where(_has_tag(store, flt.tag))
    if flt.finished:
        q = q.where(c.status.in_(("completed", "failed", "canceled")))
    if flt.model is not None:
        m = t.model_configs.c
        spec = m.provider + ":" + m.name
        q = q.where(
            c.model_hash.in_(
                sa.select(m.hash).where(sa.or_(m.name == flt.model, spec == flt.model))
            )
        )
    if flt.q:
        needle = flt.q.lower()
        fields = (c.id, c.title, c.alias, c.label, c.suite_id, c.suite_name, c.prompt_name)
        q = q.where(sa.or_(*(sa.func.lower(f).contains(needle, autoescape=True) for f in fields)))
    if flt.created_after is not None:
        q = q.where(c.created_at >= as_utc(flt.created_after))
    if flt.created_before is not None:
        q = q.where(c.created_at < as_utc(flt.created_before))
    if flt.archived is not None:
        q = q.where(c.archived_at.is_not(None) if flt.archived else c.archived_at.is_(None))
    if after is not None:
        at, run_id = as_utc(after[0]), after[1]
        q = q.where(sa.or_(c.created_at < at, sa.and_(c.created_at == at, c.id < run_id)))
    q = q.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [workspace_run(row, gone) for row in conn.execute(q)]


def get_workspace_run(
    store: Store, workspace_id: str, run_id: str, *, gone: Gone | None = None
) -> WorkspaceRun:
    """The run with exactly this id, if the workspace owns it. Another workspace's run is
    "not found" too: its existence is not disclosed."""
    c = t.runs.c
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(t.runs).where(c.id == run_id, c.workspace_id == workspace_id)
        ).first()
    if row is None:
        raise NotFoundError(f"no run {run_id!r}")
    return workspace_run(row, gone)


def awaiting_review(result_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """Whether a ``human`` scorer marked the result for review (and it did not error) and
    no feedback row gives it a score or a label yet (a comment alone is not a review)."""
    sc, f = t.scores.c, t.feedback.c
    wanted = sa.select(sa.literal(1)).where(
        sc.result_id == result_id, sc.kind == "human", sc.error.is_(None)
    )
    reviewed = sa.select(sa.literal(1)).where(
        f.result_id == result_id, sa.or_(f.score.is_not(None), f.label.is_not(None))
    )
    return sa.and_(sa.exists(wanted), ~sa.exists(reviewed))


def asks_for_review(store: Store, run: RunRecord) -> bool:
    """Whether the run's suite has a ``human`` scorer (suite-wide or on a case): without
    one nothing awaits review, and the queue needs no query."""
    suite = store.get_suite(run.suite_hash)
    if any(spec.base_type == "human" for spec in suite.scorers):
        return True
    return any(spec.base_type == "human" for case in suite.cases for spec in case.scorers)


def count_awaiting_review(store: Store, run_id: str) -> int:
    """How many results of the run await a human review."""
    r = t.results.c
    query = sa.select(sa.func.count()).where(r.run_id == run_id, awaiting_review(r.id))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def count_results(store: Store, run_id: str) -> int:
    """How many results the run has recorded (its counts are summed only when it ends)."""
    query = sa.select(sa.func.count()).where(t.results.c.run_id == run_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class ResultFilter:
    """``failed_only``: failed and errored results; ``errored_only``: errored results;
    ``scorer``: results this scorer scored (with ``failed_only``: that it did not pass);
    ``q``: a case-insensitive substring of the output or the case id."""

    failed_only: bool = False
    section: str | None = None
    q: str | None = None
    errored_only: bool = False
    scorer: str | None = None
    #: Results a ``human`` scorer marked for review that have no score or label yet.
    awaiting_review: bool = False


def query_results(
    store: Store,
    run_id: str,
    flt: ResultFilter,
    *,
    limit: int,
    after_seq: int = -1,
) -> tuple[list[Result], int | None]:
    """Up to ``limit`` results of a run in plan order after plan position ``after_seq``,
    and the position of the last one (the next page's cursor), or ``None`` when done."""
    r = t.results.c
    q = sa.select(t.results).where(r.run_id == run_id, r.seq > after_seq)
    if flt.failed_only:
        q = q.where(r.status != "passed")
    if flt.errored_only:
        q = q.where(r.status == "error")
    if flt.scorer is not None:
        sc = t.scores.c
        scored = sa.select(sa.literal(1)).where(sc.result_id == r.id, sc.name == flt.scorer)
        if flt.failed_only:
            scored = scored.where(sa.or_(sc.passed.is_not(True), sc.error.is_not(None)))
        q = q.where(sa.exists(scored))
    if flt.awaiting_review:
        q = q.where(awaiting_review(r.id))
    if flt.section is not None:
        q = q.where(r.section == flt.section)
    if flt.q:
        needle = flt.q.lower()
        q = q.where(
            sa.or_(
                sa.func.lower(r.output).contains(needle, autoescape=True),
                sa.func.lower(r.case_id).contains(needle, autoescape=True),
            )
        )
    q = q.order_by(r.seq).limit(limit + 1)
    with store.engine.connect() as conn:
        rows: Sequence[Any] = conn.execute(q).all()
        more = len(rows) > limit
        rows = rows[:limit]
        results = store.hydrate(conn, rows) if rows else []
    return results, (rows[-1].seq if more else None)


@dataclass(frozen=True)
class ResultPreview:
    """What a summary of every result shows: verdict, the output's start, latency."""

    case_id: str
    epoch: int
    status: str
    output_preview: str | None
    latency_ms: float | None


def result_previews(store: Store, run_id: str, *, chars: int = 200) -> list[ResultPreview]:
    """Every result of a run in plan order, without hydrating whole results (the output
    is cut in the database)."""
    r = t.results.c
    query = (
        sa.select(r.case_id, r.epoch, r.status, sa.func.substr(r.output, 1, chars), r.latency_ms)
        .where(r.run_id == run_id)
        .order_by(r.seq)
    )
    with store.engine.connect() as conn:
        return [ResultPreview(*row) for row in conn.execute(query)]


def result_seq(store: Store, run_id: str, case_id: str, epoch: int = 0) -> int | None:
    """The plan position of a result (``None`` when it is not recorded)."""
    r = t.results.c
    query = sa.select(r.seq).where(r.run_id == run_id, r.case_id == case_id, r.epoch == epoch)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()
