"""Experiments as a workspace sees them: runs grouped by their ``experiment_id``.

A matrix (``evalbook run SUITE --model A --model B …``, or a suite's ``models:``) records
one run per combination under one experiment id; the runs table already carries it, so
an experiment is a query, not a table. The list is newest first by the experiment's
latest run, the runs of one experiment in the order they were recorded (the matrix's
order: its first run is the baseline), and the case grid pages by keyset over
``(case_id, epoch)`` so that results landing meanwhile never shift a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc, row_to_run
from evalbook.storage.store import Store

__all__ = [
    "ExperimentSummary",
    "GridCell",
    "experiment_runs",
    "grid_cells",
    "grid_keys",
    "list_experiments",
]


@dataclass(frozen=True)
class ExperimentSummary:
    """One experiment of the list: how many runs, of which suites, and when."""

    id: str
    runs: int
    suites: list[str]
    first_at: datetime
    last_at: datetime
    running: int


def list_experiments(
    store: Store,
    workspace_id: str,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[ExperimentSummary]:
    """Up to ``limit`` experiments of the workspace, newest (latest run) first, after
    the ``(last_at, id)`` of the previous page's last one. Archived runs still count:
    an experiment is whole or it is misleading."""
    c = t.runs.c
    last_at = sa.func.max(c.created_at)
    unfinished = sa.case((c.status.in_(("pending", "queued", "running")), 1), else_=0)
    q = (
        sa.select(
            c.experiment_id,
            sa.func.count().label("runs"),
            sa.func.min(c.created_at).label("first_at"),
            last_at.label("last_at"),
            sa.func.sum(unfinished).label("running"),
        )
        .where(c.workspace_id == workspace_id, c.experiment_id.is_not(None))
        .group_by(c.experiment_id)
    )
    if after is not None:
        at, experiment_id = as_utc(after[0]), after[1]
        q = q.having(sa.or_(last_at < at, sa.and_(last_at == at, c.experiment_id < experiment_id)))
    q = q.order_by(last_at.desc(), c.experiment_id.desc()).limit(limit)
    with store.engine.connect() as conn:
        rows: Sequence[Any] = conn.execute(q).all()
        ids = [row.experiment_id for row in rows]
        suites: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            pairs = conn.execute(
                sa.select(c.experiment_id, c.suite_id)
                .where(c.workspace_id == workspace_id, c.experiment_id.in_(ids))
                .distinct()
                .order_by(c.experiment_id, c.suite_id)
            )
            for experiment_id, suite_id in pairs:
                suites[experiment_id].append(suite_id)
    return [
        ExperimentSummary(
            id=row.experiment_id,
            runs=int(row.runs),
            suites=suites[row.experiment_id],
            first_at=as_utc(row.first_at),
            last_at=as_utc(row.last_at),
            running=int(row.running or 0),
        )
        for row in rows
    ]


def experiment_runs(store: Store, workspace_id: str, experiment_id: str) -> list[RunRecord]:
    """The experiment's runs in the order they were recorded; another workspace's
    experiment is "not found" (its existence is not disclosed)."""
    c = t.runs.c
    q = (
        sa.select(t.runs)
        .where(c.workspace_id == workspace_id, c.experiment_id == experiment_id)
        .order_by(c.created_at, c.id)
    )
    with store.engine.connect() as conn:
        runs = [row_to_run(row) for row in conn.execute(q)]
    if not runs:
        raise NotFoundError(f"no experiment {experiment_id!r}")
    return runs


def grid_keys(
    store: Store,
    run_ids: Sequence[str],
    *,
    limit: int,
    after: tuple[str, int] | None = None,
    differing: bool = False,
) -> tuple[list[tuple[str, int]], bool]:
    """A page of the grid's rows: the ``(case_id, epoch)`` of any of the runs, in order,
    after ``after``; and whether more follow. ``differing``: only the rows where the
    runs' outputs (whole, compared in the database) or verdicts are not all the same."""
    r = t.results.c
    q = sa.select(r.case_id, r.epoch).where(r.run_id.in_(run_ids)).group_by(r.case_id, r.epoch)
    if differing:
        outputs = sa.func.count(sa.distinct(sa.func.coalesce(r.output, "")))
        q = q.having(sa.or_(outputs > 1, sa.func.count(sa.distinct(r.status)) > 1))
    if after is not None:
        case_id, epoch = after
        q = q.where(sa.tuple_(r.case_id, r.epoch) > sa.tuple_(case_id, epoch))
    q = q.order_by(r.case_id, r.epoch).limit(limit + 1)
    with store.engine.connect() as conn:
        keys = [(str(case_id), int(epoch)) for case_id, epoch in conn.execute(q)]
    return keys[:limit], len(keys) > limit


@dataclass(frozen=True)
class GridCell:
    """One run's result for one case: the verdict and the output's start (cut in the
    database, so a huge output never leaves it whole)."""

    run_id: str
    case_id: str
    epoch: int
    status: str
    score: float | None
    output_preview: str | None
    output_chars: int
    latency_ms: float | None
    cached: bool
    error: str | None


def grid_cells(
    store: Store,
    run_ids: Sequence[str],
    keys: Sequence[tuple[str, int]],
    *,
    chars: int = 300,
) -> list[GridCell]:
    """The results of ``run_ids`` for the cases of ``keys`` (missing ones are absent)."""
    if not keys or not run_ids:
        return []
    r = t.results.c
    wanted = set(keys)
    q = sa.select(
        r.run_id,
        r.case_id,
        r.epoch,
        r.status,
        r.score,
        sa.func.substr(r.output, 1, chars),
        sa.func.coalesce(sa.func.length(r.output), 0),
        r.latency_ms,
        r.cached,
        r.error_message,
    ).where(r.run_id.in_(run_ids), r.case_id.in_(sorted({k[0] for k in keys})))
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        GridCell(
            run_id=row[0],
            case_id=row[1],
            epoch=int(row[2]),
            status=row[3],
            score=row[4],
            output_preview=row[5],
            output_chars=int(row[6]),
            latency_ms=row[7],
            cached=bool(row[8]),
            error=None if row[9] is None else str(row[9])[:300],
        )
        for row in rows
        if (row[1], int(row[2])) in wanted
    ]
