"""What a workspace is doing now: the runs on the board, their progress grids, recent
completions and which suites have enough finished runs to compare.

The dashboard page, the runs board and their JSON twins (``GET /api/dashboard``,
``GET /api/board``) all read through here: one query layer, rendered twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunRecord
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc, row_to_run
from evalbook.storage.runs import Gone, WorkspaceRun, workspace_run
from evalbook.storage.store import Store

__all__ = [
    "MAX_CELLS",
    "AliasSummary",
    "Grid",
    "Readiness",
    "SavedModel",
    "active_runs",
    "alias_summary",
    "compare_readiness",
    "completed_pairs",
    "newest_failure",
    "plan_keys",
    "progress_grid",
    "recent_completions",
    "recent_models",
]

#: A grid draws at most this many cells; larger runs share a cell between items.
MAX_CELLS = 1000
_ACTIVE = ("pending", "running")
_FINISHED = ("completed", "failed", "canceled")


def active_runs(
    store: Store,
    workspace_id: str,
    *,
    recent_s: float = 900,
    limit: int = 24,
    gone: Gone | None = None,
) -> list[WorkspaceRun]:
    """Pending and running runs, and those finished in the last ``recent_s`` seconds:
    newest first (the board's cards)."""
    c = t.runs.c
    since = datetime.now(UTC) - timedelta(seconds=recent_s)
    query = (
        sa.select(t.runs)
        .where(
            c.workspace_id == workspace_id,
            c.archived_at.is_(None),
            sa.or_(c.status.in_(_ACTIVE), c.finished_at >= since),
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [workspace_run(row, gone) for row in conn.execute(query)]


def recent_completions(store: Store, workspace_id: str, *, limit: int = 10) -> list[RunRecord]:
    """The newest finished runs (not archived)."""
    c = t.runs.c
    query = (
        sa.select(t.runs)
        .where(
            c.workspace_id == workspace_id,
            c.archived_at.is_(None),
            c.status.in_(_FINISHED),
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [row_to_run(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Readiness:
    """A suite with ``completed`` runs: compare the latest two (``latest``, newest first)."""

    suite_id: str
    suite_name: str
    completed: int
    latest: tuple[str, ...]


def compare_readiness(store: Store, workspace_id: str, *, limit: int = 5) -> list[Readiness]:
    """Suites with at least two completed runs, the most recently run first."""
    c = t.runs.c
    live = sa.and_(c.workspace_id == workspace_id, c.archived_at.is_(None), c.status == "completed")
    groups = (
        sa.select(c.suite_id, sa.func.count().label("n"), sa.func.max(c.created_at).label("last"))
        .where(live)
        .group_by(c.suite_id)
        .having(sa.func.count() >= 2)
        .order_by(sa.desc("last"))
        .limit(limit)
    )
    found = []
    with store.engine.connect() as conn:
        for suite_id, n, _last in conn.execute(groups).all():
            rows = conn.execute(
                sa.select(c.id, c.suite_name)
                .where(live, c.suite_id == suite_id)
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(2)
            ).all()
            found.append(Readiness(suite_id, rows[0].suite_name, int(n), tuple(r.id for r in rows)))
    return found


def completed_pairs(
    store: Store, since: datetime, *, limit: int = 8
) -> tuple[list[tuple[RunRecord, RunRecord]], datetime]:
    """Runs completed after ``since`` (any workspace, not archived), the newest ``limit``,
    each after the previous completed run of its suite in its workspace: the pairs the
    inspector's "Compare with previous" and the dashboard's "Compare latest two" open.
    Also the latest finish time seen (the next call's ``since``)."""
    c = t.runs.c
    done = sa.and_(c.status == "completed", c.archived_at.is_(None))
    query = (
        sa.select(t.runs)
        .where(done, c.finished_at > since)
        .order_by(c.finished_at.desc(), c.id.desc())
        .limit(limit)
    )
    pairs = []
    latest = since
    with store.engine.connect() as conn:
        for row in conn.execute(query).all():
            run = row_to_run(row)
            latest = max(latest, as_utc(row.finished_at) or latest)
            before = conn.execute(
                sa.select(t.runs)
                .where(
                    done,
                    c.workspace_id == run.workspace_id,
                    c.suite_id == run.suite_id,
                    sa.tuple_(c.created_at, c.id) < sa.tuple_(run.created_at, run.id),
                )
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            ).first()
            if before is not None:
                pairs.append((row_to_run(before), run))
    return pairs, latest


def newest_failure(store: Store, workspace_id: str) -> RunRecord | None:
    """The newest finished run with a failed or errored case (or that failed as a whole)."""
    c = t.runs.c
    query = (
        sa.select(t.runs)
        .where(
            c.workspace_id == workspace_id,
            c.archived_at.is_(None),
            c.status.in_(_FINISHED),
            sa.or_(
                c.passed.is_(False),
                c.status == "failed",
                c.failed_count > 0,
                c.errored_count > 0,
            ),
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return row_to_run(row) if row is not None else None


@dataclass(frozen=True)
class Grid:
    """A run's progress as cells: ``per`` plan items share a cell (1 for runs of up to
    :data:`MAX_CELLS` items). Each cell is ``(state, done, first)``: its worst state so
    far (``pending``, ``partial``, ``passed``, ``failed``, ``error``), how many of its
    items are done, and the ``(case_id, epoch)`` of its first item (what a click opens)."""

    total: int
    per: int
    cells: list[tuple[str, int, tuple[str, int] | None]]
    #: Results recorded so far by status (a running run's counts: its record sums them
    #: only when it ends).
    passed: int = 0
    failed: int = 0
    errored: int = 0

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.errored


def _cell_state(size: int, done: int, failed: int, errored: int) -> str:
    if errored:
        return "error"
    if failed:
        return "failed"
    if done >= size:
        return "passed"
    return "partial" if done else "pending"


_PLANS: dict[tuple[str, tuple[str, ...] | None, int], list[tuple[str, int]]] = {}
_PLANS_LOCK = threading.Lock()


def plan_keys(store: Store, run: RunRecord) -> list[tuple[str, int]]:
    """``(case_id, epoch)`` of every plan position of a run (the executor's order:
    epochs outer, cases inner). Suites are immutable by hash, so plans are cached."""
    ids = tuple(run.options.case_ids) if run.options.case_ids else None
    key = (run.suite_hash, ids, run.options.epochs)
    with _PLANS_LOCK:
        found = _PLANS.get(key)
    if found is None:
        cases = store.get_suite(run.suite_hash).select(run.options.case_ids)
        found = [(case.id, e) for e in range(run.options.epochs) for case in cases]
        with _PLANS_LOCK:
            if len(_PLANS) >= 16:
                _PLANS.pop(next(iter(_PLANS)))
            _PLANS[key] = found
    return found


#: Grids of finished runs (they change only when the run does: a resume changes its
#: status, so its key): the board shows recently finished runs on every load.
_GRIDS: dict[tuple[Any, ...], Grid] = {}
_GRIDS_LOCK = threading.Lock()


def progress_grid(store: Store, run: RunRecord, *, max_cells: int = MAX_CELLS) -> Grid:
    """The run's cells from its recorded results (plan position ``seq``)."""
    if not run.status.finished:
        return _progress_grid(store, run, max_cells)
    key = (
        str(store.engine.url),
        run.id,
        run.status.value,
        run.finished_at,
        run.counts.model_dump_json(),
        max_cells,
    )
    with _GRIDS_LOCK:
        found = _GRIDS.get(key)
    if found is None:
        found = _progress_grid(store, run, max_cells)
        with _GRIDS_LOCK:
            if len(_GRIDS) >= 64:
                _GRIDS.pop(next(iter(_GRIDS)))
            _GRIDS[key] = found
    return found


def _progress_grid(store: Store, run: RunRecord, max_cells: int) -> Grid:
    total = max(run.counts.total, 0)
    per = max(1, -(-total // max_cells))
    n = -(-total // per) if total else 0
    done = [0] * n
    failed = [0] * n
    errored = [0] * n
    r = t.results.c
    # Counted per cell by the database: a finished run of 100,000 cases sends back a
    # thousand rows, not a hundred thousand.
    bucket = r.seq // per if per > 1 else r.seq
    query = (
        sa.select(
            bucket,
            sa.func.count(),
            sa.func.sum(sa.case((r.status == "failed", 1), else_=0)),
            sa.func.sum(sa.case((r.status == "error", 1), else_=0)),
        )
        .where(r.run_id == run.id, r.seq >= 0, r.seq < total)
        .group_by(bucket)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all() if total else []
    for i, count, fails, errors in rows:
        done[i] += int(count)
        failed[i] += int(fails or 0)
        errored[i] += int(errors or 0)
    keys = plan_keys(store, run) if total else []
    cells = []
    for i in range(n):
        size = min(per, total - i * per)
        first = keys[i * per] if i * per < len(keys) else None
        cells.append((_cell_state(size, done[i], failed[i], errored[i]), done[i], first))
    fails, errors = sum(failed), sum(errored)
    return Grid(
        total=total,
        per=per,
        cells=cells,
        passed=sum(done) - fails - errors,
        failed=fails,
        errored=errors,
    )


@dataclass(frozen=True)
class SavedModel:
    """A model config a run of the workspace used (newest use first)."""

    hash: str
    config: dict[str, Any]
    last_used: datetime


def recent_models(store: Store, workspace_id: str, *, limit: int = 20) -> list[SavedModel]:
    """The model configs of the workspace's runs, most recently used first."""
    c = t.runs.c
    m = t.model_configs.c
    used = (
        sa.select(c.model_hash, sa.func.max(c.created_at).label("last"))
        .where(c.workspace_id == workspace_id)
        .group_by(c.model_hash)
        .subquery()
    )
    query = (
        sa.select(m.hash, m.config, used.c.last)
        .join(used, used.c.model_hash == m.hash)
        .order_by(used.c.last.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [
            SavedModel(row.hash, dict(row.config), as_utc(row.last)) for row in conn.execute(query)
        ]


@dataclass(frozen=True)
class AliasSummary:
    """An alias of the workspace: its completed runs and the latest one."""

    alias: str
    completed: int
    latest: RunRecord


def alias_summary(store: Store, workspace_id: str, *, limit: int = 30) -> list[AliasSummary]:
    """The workspace's aliases with completed runs, the most recently run first."""
    c = t.runs.c
    live = sa.and_(
        c.workspace_id == workspace_id,
        c.archived_at.is_(None),
        c.status == "completed",
        c.alias.is_not(None),
    )
    groups = (
        sa.select(c.alias, sa.func.count().label("n"), sa.func.max(c.created_at).label("last"))
        .where(live)
        .group_by(c.alias)
        .order_by(sa.desc("last"))
        .limit(limit)
    )
    found = []
    with store.engine.connect() as conn:
        for alias, n, _last in conn.execute(groups).all():
            row = conn.execute(
                sa.select(t.runs)
                .where(live, c.alias == alias)
                .order_by(c.created_at.desc(), c.id.desc())
                .limit(1)
            ).first()
            if row is not None:
                found.append(AliasSummary(alias, int(n), row_to_run(row)))
    return found
