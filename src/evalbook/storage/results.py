"""A run's results as a workspace reads them: filtered and paged by keyset in plan order
(``seq``), counted, previewed, and those awaiting a human review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evalbook.config import page_bytes_limit
from evalbook.core.result import Result
from evalbook.core.run import RunRecord
from evalbook.storage import tables as t
from evalbook.storage.hydrate import hydrate
from evalbook.storage.store import Store

__all__ = [
    "ResultFilter",
    "ResultPreview",
    "asks_for_review",
    "awaiting_review",
    "count_awaiting_review",
    "count_results",
    "planned_items",
    "query_results",
    "result_previews",
    "result_seq",
]


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


def planned_items(store: Store, run: RunRecord) -> int:
    """How many results the run's plan holds: its cases (those ``options.case_ids`` names,
    or every case of its suite) times its epochs, as the executor plans them."""
    opts = run.options
    if opts.case_ids:
        return len(set(opts.case_ids)) * opts.epochs
    query = sa.select(t.suites.c.case_count).where(t.suites.c.hash == run.suite_hash)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one()) * opts.epochs


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
    max_chars: int | None = None,
) -> tuple[list[Result], int | None]:
    """Up to ``limit`` results of a run in plan order after plan position ``after_seq``,
    and the position of the last one (the next page's cursor), or ``None`` when done.

    A page holds at most about ``max_chars`` characters of its results' text (default
    :func:`~evalbook.config.page_bytes_limit`), and always one result: each value may be
    16 MiB (``EVALBOOK_MAX_STORED_BYTES``), and 200 such results read at once would take
    gigabytes. Their sizes are asked first (the database measures them); the page then
    reads the results that fit, and ends early, its cursor at the last one."""
    q = _filtered(run_id, flt, after_seq).order_by(t.results.c.seq).limit(limit + 1)
    budget = page_bytes_limit() if max_chars is None else max_chars
    with store.engine.connect() as conn:
        sizes: Sequence[Any] = conn.execute(q.with_only_columns(t.results.c.seq, _SIZE)).all()
        if not sizes:
            return [], None
        fit, total = 0, 0
        for _, size in sizes[:limit]:
            total += size or 0
            if fit and total > budget:
                break
            fit += 1
        last = sizes[fit - 1].seq
        rows: Sequence[Any] = conn.execute(q.where(t.results.c.seq <= last)).all()
        results = hydrate(conn, rows)
    return results, (last if len(sizes) > fit else None)


#: The characters of a result's row that a page carries: its text columns and its body
#: (the messages, choices, attempts and evidence as JSON).
_SIZE = sum(
    (
        sa.func.coalesce(sa.func.length(column), 0)
        for column in (
            t.results.c.prompt,
            t.results.c.output,
            t.results.c.expected,
            t.results.c.error_message,
            sa.cast(t.results.c.body, sa.Text),
        )
    ),
    sa.literal(0),
)


def _filtered(run_id: str, flt: ResultFilter, after_seq: int) -> sa.Select[Any]:
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
    return q


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
