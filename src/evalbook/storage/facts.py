"""The columns a run's summary reads of each result and score, read fast.

Why not SQLAlchemy rows: a run's summary reads every result and score of the run once,
at its end, and SQLAlchemy's per-row processing cost more than the summary itself (about
50 µs a case at the end of a 10,000-case run). The DB-API cursor hands back tuples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa

__all__ = ["ResultFact", "ScoreFact", "fact_rows", "read_fact_rows", "read_facts"]


class ResultFact(NamedTuple):
    """What a run's summary reads of each result."""

    case_id: str
    epoch: int
    error_type: str | None
    error_message: str | None
    status: str
    score: float | None
    section: str | None
    latency_ms: float | None
    cached: bool
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


class ScoreFact(NamedTuple):
    """What a run's summary reads of each score."""

    name: str
    score: float | None
    passed: bool | None
    higher_is_better: bool


F = TypeVar("F", ResultFact, ScoreFact)
_TABLES = {ResultFact: "results", ScoreFact: "scores"}


def read_facts(engine: sa.Engine, fact: type[F], run_id: str) -> Iterator[F]:
    """``fact`` rows of one run (SQLite hands booleans back as 0 and 1)."""
    return map(fact._make, read_fact_rows(engine, fact, run_id))


def read_fact_rows(engine: sa.Engine, fact: type[F], run_id: str) -> Iterator[tuple[Any, ...]]:
    """:func:`read_facts` as the cursor hands them: plain tuples in ``fact``'s column
    order (a named tuple per row was a quarter of a 100,000-result summary)."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    columns = ", ".join(fact._fields)
    sql = f"SELECT {columns} FROM {_TABLES[fact]} WHERE run_id = {mark}"
    with engine.connect() as conn:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, (run_id,))
            while rows := cursor.fetchmany(2000):
                yield from rows
        finally:
            cursor.close()


def fact_rows(engine: sa.Engine, run_id: str) -> tuple[Iterator[tuple[Any, ...]], ...]:
    """The run's result and score facts as plain rows: what ``summarize`` reads."""
    return read_fact_rows(engine, ResultFact, run_id), read_fact_rows(engine, ScoreFact, run_id)
