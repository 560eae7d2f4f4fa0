"""Column reads for comparisons: a run's per-case numbers as arrays, a chunk at a time.

Why aggregate into JSON arrays instead of fetching rows: comparing two runs of 100,000
cases must take seconds, and reading rows costs a Python object per value (sqlite3
builds each one under the GIL: ~1 s per run for the columns below, measured on 2 cores).
``json_group_array`` (SQLite) / ``json_agg`` (PostgreSQL) hand back one string or list
per column per chunk, parsed at C speed — about three times faster. All aggregates of
one SELECT consume the rows in the same order, so the arrays of a chunk stay aligned
(PostgreSQL also orders each by ``seq``). Chunks are ranges of plan positions (``seq``),
read through the ``(run_id, seq)`` index, so memory is bounded by the chunk size.

Floats pass through JSON with 15 significant digits (SQLite's rendering): far below any
difference a score comparison reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from evalbook.storage import tables as t

__all__ = ["CaseChunk", "ScoreChunk", "case_chunks", "score_chunks"]

CHUNK = 50_000

#: ``seq, case_id, epoch, status (0 passed, 1 failed, 2 error), score, section,
#: latency_ms`` (None for cached and errored cases) as lists, plus the chunk's distinct
#: served builds and its totals (``cached``, ``input_tokens``, ``output_tokens``,
#: ``cost``, ``unpriced``).
CaseChunk = dict[str, Any]
#: ``(seq, name_code, score)`` lists: one entry per scorer verdict.
ScoreChunk = tuple[list[int], list[int], list[float | None]]


def _agg(dialect: str, expr: Any, *order: Any) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        return sa.func.json_agg(aggregate_order_by(expr, *order))
    return sa.func.json_group_array(expr)


def _distinct(dialect: str, expr: Any) -> Any:
    fn = sa.func.json_agg if dialect == "postgresql" else sa.func.json_group_array
    return fn(sa.distinct(expr))


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else json.loads(value)


def _ranges(conn: sa.Connection, run_id: str) -> list[tuple[int, int]]:
    r = t.results.c
    low, high = conn.execute(
        sa.select(sa.func.min(r.seq), sa.func.max(r.seq)).where(r.run_id == run_id)
    ).one()
    if low is None:
        return []
    return [(lo, min(lo + CHUNK, high + 1)) for lo in range(low, high + 1, CHUNK)]


def case_chunks(engine: sa.Engine, run_id: str) -> Iterator[CaseChunk]:
    r = t.results.c
    d = engine.dialect.name
    code = sa.case((r.status == "passed", 0), (r.status == "failed", 1), else_=2)
    excluded = sa.or_(r.cached.is_(True), r.status == "error")
    latency = sa.case((excluded, sa.null()), else_=r.latency_ms)
    served = sa.case(
        (
            sa.and_(r.status != "error", r.served_model.is_not(None)),
            r.served_model + "+" + sa.func.coalesce(r.system_fingerprint, ""),
        ),
        else_=sa.null(),
    )
    used = r.cached.is_(False)
    priced = sa.and_(used, sa.or_(r.input_tokens.is_not(None), r.output_tokens.is_not(None)))

    def total(expr: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(expr), 0)

    columns = {
        "seq": r.seq,
        "case_id": r.case_id,
        "epoch": r.epoch,
        "status": code,
        "score": r.score,
        "section": r.section,
        "latency": latency,
    }
    select = [_agg(d, expr, r.seq).label(name) for name, expr in columns.items()]
    select += [
        _distinct(d, served).label("served"),
        total(sa.case((r.cached.is_(True), 1), else_=0)).label("cached"),
        total(sa.case((used, r.input_tokens), else_=0)).label("input_tokens"),
        total(sa.case((used, r.output_tokens), else_=0)).label("output_tokens"),
        total(sa.case((priced, r.cost_usd), else_=0.0)).label("cost"),
        total(sa.case((sa.and_(priced, r.cost_usd.is_(None)), 1), else_=0)).label("unpriced"),
    ]
    with engine.connect() as conn:
        for lo, hi in _ranges(conn, run_id):
            row = conn.execute(
                sa.select(*select).where(r.run_id == run_id, r.seq >= lo, r.seq < hi)
            ).one()
            m = row._mapping
            chunk: CaseChunk = {name: _list(m[name]) for name in (*columns, "served")}
            for name in ("cached", "input_tokens", "output_tokens", "unpriced"):
                chunk[name] = int(m[name])
            chunk["cost"] = float(m["cost"])
            yield chunk


def score_chunks(engine: sa.Engine, run_id: str, names: Sequence[str]) -> Iterator[ScoreChunk]:
    r, s = t.results.c, t.scores.c
    d = engine.dialect.name
    code = sa.case(*((s.name == name, i) for i, name in enumerate(names)), else_=-1)
    select = [_agg(d, expr, r.seq, s.scorer_id) for expr in (r.seq, code, s.score)]
    with engine.connect() as conn:
        for lo, hi in _ranges(conn, run_id):
            row = conn.execute(
                sa.select(*select)
                .select_from(t.results.join(t.scores, s.result_id == r.id))
                .where(r.run_id == run_id, r.seq >= lo, r.seq < hi)
            ).one()
            yield _list(row[0]), _list(row[1]), _list(row[2])
