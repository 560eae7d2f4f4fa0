"""The hot write path: results and scores upserted through the DB-API directly.

Why not SQLAlchemy Core here: its per-row parameter processing costs about as much CPU as
the rest of the executor's work on a result (measured 0.27 ms per result with two scores
on a 2-core machine), and the writer shares the interpreter with the workers. The SQL is
generated once per dialect from the table definitions, so columns cannot drift from the
schema; everything else in the store stays on SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.stored_values import JsonText


def _is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


def _is_time(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.DateTime)


class BulkUpsert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of whole rows of one table."""

    def __init__(self, table: sa.Table, dialect: str, *, conflict: Sequence[str]) -> None:
        self.table = table
        self.dialect = dialect
        self.columns = list(table.c)
        self.names = [c.name for c in self.columns]
        self.conflict = list(conflict)
        is_json_col = [_is_json(c) for c in self.columns]
        # The columns whose values need work: (position, converter or None, whether NULL
        # must be written as JSON null); every other value is passed as it is.
        self._plan: list[tuple[int, Any, bool]] = []
        for i, (column, is_json) in enumerate(zip(self.columns, is_json_col, strict=True)):
            sqlite_time = _is_time(column) and dialect == "sqlite"
            if is_json or sqlite_time:
                self._plan.append((i, _dump if is_json else _sqlite_time, is_json))
        mark = "?" if dialect == "sqlite" else "%s"
        values = ", ".join(
            f"{mark}::jsonb" if dialect == "postgresql" and j else mark for j in is_json_col
        )
        keys = set(conflict)
        updates = ", ".join(f"{n} = excluded.{n}" for n in self.names if n not in keys)
        self.sql = (
            f"INSERT INTO {table.name} ({', '.join(self.names)}) VALUES ({values})"
            f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
        )

    def params(self, row: dict[str, Any]) -> list[Any]:
        out = list(map(row.get, self.names))
        for i, convert, is_json in self._plan:
            value = out[i]
            if value is None:
                if is_json:
                    out[i] = "null"
            else:
                out[i] = convert(value)
        return out

    def execute(self, cursor: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            cursor.executemany(self.sql, [self.params(r) for r in rows])


def _dump(value: Any) -> str:
    if isinstance(value, JsonText):
        return value
    return json.dumps(value, ensure_ascii=False)


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text format, in UTC (what reads expect)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class ResultWriterSQL:
    """Upserts results and replaces their scores, in the caller's transaction.

    On SQLite: ``executemany`` of ``INSERT … ON CONFLICT`` (one writer, in-process, already
    the fastest way in). On PostgreSQL: :class:`PgCopyWriter`.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.results = BulkUpsert(t.results, dialect, conflict=["id"])
        self.scores = BulkUpsert(t.scores, dialect, conflict=["result_id", "scorer_id"])
        self._mark = "?" if dialect == "sqlite" else "%s"
        self._copy = PgCopyWriter() if dialect == "postgresql" else None

    def write(
        self,
        conn: sa.Connection,
        result_rows: Sequence[dict[str, Any]],
        score_rows: Sequence[dict[str, Any]],
    ) -> None:
        if not result_rows:
            return
        cursor = conn.connection.cursor()
        try:
            if self._copy is not None:
                self._copy.write(cursor, self.results, self.scores, result_rows, score_rows)
                return
            ids = [r["id"] for r in result_rows]
            marks = ", ".join([self._mark] * len(ids))
            cursor.execute(f"DELETE FROM scores WHERE result_id IN ({marks})", ids)
            self.results.execute(cursor, result_rows)
            self.scores.execute(cursor, score_rows)
        finally:
            cursor.close()


_UNIQUE_VIOLATION = "23505"


def _stage(table: sa.Table) -> str:
    return f"evalbook_stage_{table.name}"


def _merge_sql(table: sa.Table, conflict: Sequence[str]) -> str:
    """Move the staged rows into ``table``: new keys inserted, changed rows updated, rows
    equal to what is stored left alone (a duplicate delivery writes no tuple)."""
    names = [c.name for c in table.c]
    rest = [n for n in names if n not in conflict]
    cols = ", ".join(names)
    mine = ", ".join(f"{table.name}.{n}" for n in rest)
    theirs = ", ".join(f"excluded.{n}" for n in rest)
    return (
        f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {_stage(table)}"
        f" ORDER BY {', '.join(conflict)}"
        f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET"
        f" {', '.join(f'{n} = excluded.{n}' for n in rest)}"
        f" WHERE ({mine}) IS DISTINCT FROM ({theirs})"
    )


class PgCopyWriter:
    """PostgreSQL: results not stored yet are ``COPY``-ed straight into ``results`` and
    ``scores``; results already stored go through session-local staging tables and one
    ``INSERT … SELECT … ON CONFLICT`` per table.

    Why: row-at-a-time ``INSERT`` costs a server round of parsing, planning and executing
    per row (measured 630 result rows/s on a loaded 2-core machine); ``COPY`` streams the
    batch. A first delivery, nearly every batch a run writes, has nothing to merge: one
    index probe says which results are stored, and the new ones go in with no staging,
    sort or merge (half the server's time per row, measured). The upsert stays idempotent
    by the result's identity (``id`` is derived from ``(run_id, case_id, epoch)``): when
    another writer records one of the "new" results between the probe and the ``COPY``,
    its unique key refuses the ``COPY``, which is undone to a savepoint, and the whole
    batch is merged instead. Rows are written in key order so two workers delivering the
    same shard cannot deadlock, and a score a newer delivery no longer has is deleted.
    The staging tables are ``TEMP … ON COMMIT DELETE ROWS``: created once per
    connection, emptied by every commit that used them, invisible to other sessions.
    """

    def __init__(self) -> None:
        r, s = t.results, t.scores
        # The ids as one text (a list parameter costs the client more than the probe does
        # the server); an id is a UUID, never a space.
        self.probe = "SELECT id FROM results WHERE id = ANY(string_to_array(%s, ' '))"
        self.create = "; ".join(
            f"CREATE TEMP TABLE IF NOT EXISTS {_stage(x)} (LIKE {x.name}) ON COMMIT DELETE ROWS"
            for x in (r, s)
        )
        self.merge = f"{_merge_sql(r, ['id'])}; {_merge_sql(s, ['result_id', 'scorer_id'])}"
        # Scores of a stored result that the new delivery does not have. Found per staged
        # result through the scores' primary key (the LATERAL with OFFSET 0 cannot be
        # flattened into a join, which the planner, knowing nothing of the unanalysed
        # staging table, would run as a scan of every score) and deleted by row address.
        self.stale = (
            "DELETE FROM scores WHERE ctid = ANY(ARRAY("
            f"SELECT old.ctid FROM {_stage(r)} r, LATERAL (SELECT ctid, scorer_id FROM scores"
            " WHERE scores.result_id = r.id OFFSET 0) old"
            f" WHERE NOT EXISTS (SELECT 1 FROM {_stage(s)} n"
            " WHERE n.result_id = r.id AND n.scorer_id = old.scorer_id)))"
        )

    def write(
        self,
        cursor: Any,
        results: BulkUpsert,
        scores: BulkUpsert,
        result_rows: Sequence[dict[str, Any]],
        score_rows: Sequence[dict[str, Any]],
    ) -> None:
        cursor.execute(self.probe, (" ".join([r["id"] for r in result_rows]),))
        stored = {row[0] for row in cursor.fetchall()}
        fresh = [r for r in result_rows if r["id"] not in stored]
        if fresh:
            new_ids = {r["id"] for r in fresh}
            fresh_scores = [s for s in score_rows if s["result_id"] in new_ids]
            try:
                with cursor.connection.transaction():  # a savepoint
                    self._copy(cursor, results, results.table.name, fresh)
                    self._copy(cursor, scores, scores.table.name, fresh_scores)
            except Exception as exc:  # psycopg is an optional dependency
                if getattr(exc, "sqlstate", None) != _UNIQUE_VIOLATION:
                    raise
                stored |= new_ids  # another writer recorded some meanwhile
        if stored:
            self._merge(cursor, results, scores, result_rows, score_rows, stored)

    def _merge(
        self,
        cursor: Any,
        results: BulkUpsert,
        scores: BulkUpsert,
        result_rows: Sequence[dict[str, Any]],
        score_rows: Sequence[dict[str, Any]],
        ids: set[str],
    ) -> None:
        cursor.execute(self.create)
        self._copy(
            cursor, results, _stage(results.table), [r for r in result_rows if r["id"] in ids]
        )
        self._copy(
            cursor, scores, _stage(scores.table), [s for s in score_rows if s["result_id"] in ids]
        )
        cursor.execute(f"{self.merge}; {self.stale}")

    @staticmethod
    def _copy(cursor: Any, upsert: BulkUpsert, into: str, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        key = upsert.conflict
        ordered = sorted(rows, key=lambda row: tuple(row[k] for k in key))
        with cursor.copy(f"COPY {into} ({', '.join(upsert.names)}) FROM STDIN") as copy:
            for row in ordered:
                copy.write_row(upsert.params(row))
