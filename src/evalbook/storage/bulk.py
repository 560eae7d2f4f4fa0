"""The hot write path: results and scores upserted through the DB-API directly.

Why not SQLAlchemy Core here: its per-row parameter processing costs about as much CPU as
the rest of the executor's work on a result (measured 0.27 ms per result with two scores
on a 2-core machine), and the writer shares the interpreter with the workers. The SQL is
generated once per dialect from the table definitions, so columns cannot drift from the
schema; everything else in the store stays on SQLAlchemy.
"""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from evalbook.core.result import Result
from evalbook.storage import tables as t
from evalbook.storage.rows import result_to_rows
from evalbook.storage.sqlite_rows import SQLiteRows
from evalbook.storage.stored_ids import SPENT, adopt_stored_ids
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
        self._values = itemgetter(*self.names)
        self.pg_types = [_pg_type(c) for c in self.columns]
        self._json_at = [i for i, j in enumerate(is_json_col) if j]
        self._time_at = [i for i, c in enumerate(self.columns) if _is_time(c)]
        self._int_at = [
            (i, _INT_BOUNDS[n]) for i, n in enumerate(self.pg_types) if n in _INT_BOUNDS
        ]
        # The columns whose values need work: (position, converter or None, whether NULL
        # must be written as JSON null); every other value is passed as it is.
        self._plan: list[tuple[int, Any, bool]] = []
        for i, (column, is_json) in enumerate(zip(self.columns, is_json_col, strict=True)):
            sqlite_time = _is_time(column) and dialect == "sqlite"
            if is_json or sqlite_time:
                self._plan.append((i, _dump if is_json else sqlite_datetime, is_json))
        mark = "?" if dialect == "sqlite" else "%s"
        values = ", ".join(
            f"{mark}::jsonb" if dialect == "postgresql" and j else mark for j in is_json_col
        )
        keys = set(conflict)
        updates = ", ".join(f"{n} = excluded.{n}" for n in self.names if n not in keys)
        columns = ", ".join(self.names)
        head = f"INSERT INTO {table.name} ({columns}) VALUES "
        upsert = f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
        #: A plain ``INSERT`` (rows taken to be new); :attr:`sql` upserts.
        self.insert_sql = f"{head}({values})"
        self.sql = f"{self.insert_sql}{upsert}"
        # SQLite: many rows to a statement (storage/sqlite_rows.py).
        self._sqlite_insert = SQLiteRows(head, len(self.names))
        self._sqlite_upsert = SQLiteRows(head, len(self.names), upsert)

    def params(self, row: dict[str, Any]) -> list[Any]:
        """A row's values in column order (the row builders give every column: a missing
        one is a bug, a ``KeyError`` here), converted for the DB-API."""
        out = list(self._values(row))
        for i, convert, is_json in self._plan:
            value = out[i]
            if value is None:
                if is_json:
                    out[i] = "null"
            elif not is_json or type(value) is not JsonText:  # (JSON already: as it is)
                out[i] = convert(value)
        return out

    def copy_values(self, row: dict[str, Any]) -> Sequence[Any]:
        """A row's values for PostgreSQL's binary ``COPY``, in column order: a tuple taken
        in one C call; a JSON value the row builders did not serialise already is dumped,
        and a time without a zone is taken as UTC (what the store writes and reads)."""
        values: Sequence[Any] = self._values(row)
        for i in self._json_at:
            value = values[i]
            if type(value) is not JsonText:
                values = list(values)
                values[i] = JsonText("null" if value is None else _dump(value))
        for i in self._time_at:
            value = values[i]
            if value is not None and value.tzinfo is None:
                values = list(values)
                values[i] = value.replace(tzinfo=UTC)
        for i, bound in self._int_at:
            value = values[i]
            # Checked here: psycopg's binary int2/int4 dumpers keep the low bytes of a
            # larger number without a word (the text format made the server refuse it).
            if value is not None and not -bound <= value < bound:
                which = row.get("id") or row.get("result_id")
                raise _refused(
                    f"{self.table.name}.{self.names[i]} = {value} is out of range for its"
                    f" column (a {bound.bit_length() // 8}-byte integer), in the row of result"
                    f" {which}"
                )
        return values

    def execute(self, cursor: Any, rows: Sequence[dict[str, Any]]) -> None:
        self._write(cursor, rows, self.sql, self._sqlite_upsert)

    def insert(self, cursor: Any, rows: Sequence[dict[str, Any]]) -> None:
        """A plain ``INSERT`` of rows taken to be new (a stored key raises)."""
        self._write(cursor, rows, self.insert_sql, self._sqlite_insert)

    def _write(
        self, cursor: Any, rows: Sequence[dict[str, Any]], sql: str, sqlite: SQLiteRows
    ) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            sqlite.write(cursor, map(self.params, rows))
        else:
            cursor.executemany(sql, [self.params(r) for r in rows])


#: The integer types psycopg's binary dumpers would wrap around, and their bounds (an
#: ``int8`` out of range raises in the dumper itself).
_INT_BOUNDS = {"int2": 2**15, "int4": 2**31}


def _refused(message: str) -> Exception:
    """A value the client cannot send, as the driver's data error (the store reports it
    as the batch's failure, like a value the server refuses)."""
    from psycopg.errors import DataError

    return DataError(message)


def _pg_type(column: sa.Column[Any]) -> str:
    """The PostgreSQL type a column's values are sent as in a binary ``COPY`` (which must
    be the column's own: a type not listed here is refused when the writer is made)."""
    ty = column.type
    if isinstance(ty, sa.JSON):
        return "jsonb"
    if isinstance(ty, sa.DateTime) and ty.timezone:
        return "timestamptz"
    if isinstance(ty, sa.Boolean):
        return "bool"
    if isinstance(ty, sa.BigInteger):
        return "int8"
    if isinstance(ty, sa.SmallInteger):
        return "int2"
    if isinstance(ty, sa.Integer):
        return "int4"
    if isinstance(ty, sa.Float) and not isinstance(ty, sa.REAL) and (ty.precision or 53) > 24:
        return "float8"
    if isinstance(ty, sa.String):
        return "varchar" if ty.length is not None else "text"
    raise TypeError(f"{column.table.name}.{column.name}: no binary COPY type for {ty!r}")


@functools.cache
def _jsonb_text_dumper() -> type[Any]:
    """``jsonb`` in binary ``COPY``: a version byte, then the JSON text the row builders
    serialised (psycopg's own would serialise the text again, as a JSON string)."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class JsonTextBinaryDumper(Dumper):
        format = Format.BINARY
        oid = 3802  # jsonb

        def dump(self, obj: str) -> bytes:
            return b"\x01" + obj.encode()

    return JsonTextBinaryDumper


def _dump(value: Any) -> str:
    if isinstance(value, JsonText):
        return value
    return json.dumps(value, ensure_ascii=False)


def sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text format, in UTC (what reads expect)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # The text of ``strftime("%Y-%m-%d %H:%M:%S.%f")``, at a third of its cost.
    return value.isoformat(" ", "microseconds")


class ResultRows:
    """The table rows of a batch of results, in key order (``id``), each built once, as the
    writer consumes them: on PostgreSQL the server stores the first rows of a batch while
    this process builds the next ones (client and server overlap instead of taking turns).

    ``results`` and ``scores`` hold the rows built so far (every row after
    :meth:`complete`), ``blobs`` the images and evidence bodies they refer to.
    """

    def __init__(
        self, results: Sequence[tuple[Result, int]], limit: int, *, in_key_order: bool = True
    ) -> None:
        # Key order: two writers delivering overlapping batches take the keys in the same
        # order, so neither can hold one the other waits for while waiting for one it holds
        # (SQLite has one writer at a time: its batches keep their order).
        self._todo = sorted(results, key=_by_id) if in_key_order else list(results)
        self._limit = limit
        self.results: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.blobs: dict[str, dict[str, Any]] = {}
        #: Per run: what the built results spent (cached answers cost nothing again), for
        #: the runs that have a priced one.
        self.spent: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._todo)

    def ids(self) -> list[str]:
        """The results' ids, in key order: the built rows' (:meth:`rename` may change them)."""
        if len(self.results) == len(self._todo):
            return [row["id"] for row in self.results]
        return [result.id for result, _ in self._todo]

    def rename(self, ids: dict[str, str]) -> None:
        """Write the results named in ``ids`` under the id mapped to (the id their item is
        stored under: ``stored_ids``); every row is built first."""
        self.complete()
        for row in self.results:
            row["id"] = ids.get(row["id"], row["id"])
        for row in self.scores:
            row["result_id"] = ids.get(row["result_id"], row["result_id"])

    def run_ids(self) -> list[str]:
        """The runs the results belong to (nearly always one), in key order."""
        return sorted({result.run_id for result, _ in self._todo})

    def stream(self) -> Iterator[dict[str, Any]]:
        """Every result row, in key order: those built already, then the rest as built."""
        yield from self.results
        for result, seq in self._todo[len(self.results) :]:
            row, srows, images = result_to_rows(result, seq, self._limit)
            self.results.append(row)
            if row["cost_usd"] is not None and not row["cached"]:
                run_id = row["run_id"]
                self.spent[run_id] = self.spent.get(run_id, 0.0) + row["cost_usd"]
            if len(srows) > 1:
                srows.sort(key=_by_scorer)
            self.scores.extend(srows)
            for img in images:
                self.blobs[img.sha256] = {
                    "sha256": img.sha256,
                    "media_type": img.media_type,
                    "data": base64.b64decode(img.data),
                }
            evidence = result.provider_evidence
            for ref in evidence.blobs().values() if evidence is not None else ():
                if ref.data is not None:
                    self.blobs[ref.sha256] = {
                        "sha256": ref.sha256,
                        "media_type": ref.media_type,
                        "data": ref.data,
                    }
            yield row

    def complete(self) -> ResultRows:
        """Build every row not built yet."""
        for _ in self.stream():
            pass
        return self

    def charges(self, stored: dict[str, float | None]) -> dict[str, float]:
        """Per run, what writing these results adds to its cost: what they spent less what
        the stored results they replace (id → cost, ``None`` when cached or unpriced) had.
        A batch with no price known adds nothing (the finish writes the run's total)."""
        if not self.spent:
            return {}
        out = dict(self.spent)
        run_of = {row["id"]: row["run_id"] for row in self.results}
        for result_id, cost in stored.items():
            if cost is not None:
                run_id = run_of[result_id]
                out[run_id] = out.get(run_id, 0.0) - cost
        return out


_by_scorer = itemgetter("scorer_id")


def _by_id(pair: tuple[Result, int]) -> str:
    return pair[0].id


class RunNotRecorded(Exception):
    """Results of a run the database does not hold: nothing of the batch is written."""

    def __init__(self, run_ids: Sequence[str]) -> None:
        self.run_ids = list(run_ids)
        super().__init__(
            f"run {', '.join(self.run_ids)} is not recorded (its results cannot be written)"
        )


class StoredMeanwhile(Exception):
    """The database refused a straight ``COPY`` (PostgreSQL) or plain ``INSERT`` (SQLite)
    of a batch because some of its results are stored already (a duplicate or a resumed
    delivery, or another writer's): the transaction is rolled back, and the batch is
    written again through the merge."""


def charge(cursor: Any, charges: dict[str, float], mark: str) -> None:
    """Add each run's charge to its cost while it runs: ``runs.cost`` is what the results
    recorded so far spent (a fleet's shards each add their own), and the finish writes the
    run's total. A run none of whose results has a price keeps no cost (unknown, not 0)."""
    for run_id, amount in charges.items():
        if not amount:
            continue  # nothing to add (a duplicate delivery, or free answers)
        cursor.execute(
            f"UPDATE runs SET cost = COALESCE(cost, 0) + {mark}"
            f" WHERE id = {mark} AND status IN ('pending', 'running')",
            (amount, run_id),
        )


class ResultWriterSQL:
    """Upserts results and replaces their scores, in the caller's transaction.

    On SQLite: many rows to a statement (:class:`SQLiteRows`; one writer, in-process) of
    a plain ``INSERT`` while batches are new (no spent-amount ``SELECT``, no ``DELETE`` of
    old scores: a cached re-run writes nothing but new results), else of ``INSERT … ON
    CONFLICT`` after asking what is stored. On PostgreSQL: :class:`PgCopyWriter`.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.results = BulkUpsert(t.results, dialect, conflict=["id"])
        self.scores = BulkUpsert(t.scores, dialect, conflict=["result_id", "scorer_id"])
        self._mark = "?" if dialect == "sqlite" else "%s"
        self._copy = PgCopyWriter() if dialect == "postgresql" else None
        #: Ask which results are stored before writing a batch. Off while batches are
        #: new (a run's first delivery: the ``COPY`` or ``INSERT`` alone says so, by not
        #: being refused); on after a batch that was not, until a batch is found new.
        self.probe = False

    def write(self, conn: sa.Connection, rows: ResultRows, *, probe: bool) -> None:
        """Write ``rows``; without ``probe`` the results are taken to be new, and
        :class:`StoredMeanwhile` (the transaction must be rolled back) says otherwise."""
        if not len(rows):
            return
        cursor = conn.connection.cursor()
        try:
            self._check_runs(cursor, rows.run_ids())
            if self._copy is None and not probe:
                self._sqlite_fresh(cursor, rows)
            elif self._copy is None:
                # What is stored of these items, under which id, and what it spent.
                stored = adopt_stored_ids(cursor, rows, self.dialect)
                self.probe = bool(stored)
                if stored:
                    ids = rows.ids()
                    marks = ", ".join([self._mark] * len(ids))
                    cursor.execute(f"DELETE FROM scores WHERE result_id IN ({marks})", ids)
                self.results.execute(cursor, rows.results)
                self.scores.execute(cursor, rows.scores)
                charge(cursor, rows.charges(stored), self._mark)
            elif probe:
                adopt_stored_ids(cursor, rows, self.dialect)
                self.probe = self._copy.upsert(cursor, self.results, self.scores, rows)
            else:
                try:
                    self._copy.fresh(cursor, self.results, self.scores, rows)
                except Exception as exc:  # psycopg is an optional dependency
                    if getattr(exc, "sqlstate", None) != _UNIQUE_VIOLATION:
                        raise
                    self.probe = True
                    raise StoredMeanwhile(str(exc)) from exc
        finally:
            cursor.close()

    def _sqlite_fresh(self, cursor: Any, rows: ResultRows) -> None:
        """SQLite, a batch taken to be new: plain ``INSERT`` of every row, without asking
        what is stored (no spent-amount ``SELECT``, no ``DELETE`` of old scores). A result
        or score stored already breaks the unique key: :class:`StoredMeanwhile`, and the
        caller rolls back and writes the batch again through the upsert (which asks)."""
        rows.complete()
        try:
            self.results.insert(cursor, rows.results)
            self.scores.insert(cursor, rows.scores)
        except sqlite3.IntegrityError as exc:
            self.probe = True
            raise StoredMeanwhile(str(exc)) from exc
        charge(cursor, rows.charges({}), self._mark)

    def _check_runs(self, cursor: Any, run_ids: list[str]) -> None:
        """Refuse a batch whose run is not recorded, and on PostgreSQL lock each run
        against deletion until the batch commits: once per batch what the foreign key
        ``results.run_id → runs.id`` did per row (dropped in 0010: its per-row lookup and
        lock cost a third of the server's time writing results)."""
        if self._copy is None:
            marks = ", ".join([self._mark] * len(run_ids))
            cursor.execute(f"SELECT id FROM runs WHERE id IN ({marks})", run_ids)
        else:
            cursor.execute(
                "SELECT id FROM runs WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", (run_ids,)
            )
        found = {row[0] for row in cursor.fetchall()}
        if len(found) != len(run_ids):
            raise RunNotRecorded([r for r in run_ids if r not in found])


_UNIQUE_VIOLATION = "23505"
# A batch of results commits as every transaction does: waiting for its WAL to reach
# the disk. Committing without waiting (``synchronous_commit = off``) saved 2-3 ms per
# batch, but a crash of PostgreSQL alone, restarted while a run goes on, would lose the
# last batches silently: the run reconnects, finishes, and summarises only the results
# it finds, a completed run with cases missing.


def _stage(table: sa.Table) -> str:
    return f"evalbook_stage_{table.name}"


def _merge_sql(table: sa.Table, conflict: Sequence[str]) -> str:
    """Move the staged rows into ``table``: new keys inserted, changed rows updated, rows
    equal to what is stored left alone (a duplicate delivery writes no tuple).

    Rows equal to the stored ones are left out before the ``INSERT`` (an index probe
    each: the ``OFFSET 0`` keeps the check a per-row subplan, where the planner, knowing
    nothing of the unanalysed staging table, might scan the whole table for an anti-join):
    ``ON CONFLICT … DO UPDATE`` locks every conflicting row before its ``WHERE`` decides to
    change nothing, a write to the row and the WAL (about 200 bytes per duplicated result
    with two scores)."""
    names = [c.name for c in table.c]
    rest = [n for n in names if n not in conflict]
    cols = ", ".join(names)
    mine = ", ".join(f"{table.name}.{n}" for n in rest)
    theirs = ", ".join(f"excluded.{n}" for n in rest)
    same_key = " AND ".join(f"t.{k} = s.{k}" for k in conflict)
    stored = ", ".join(f"t.{n}" for n in rest)
    staged = ", ".join(f"s.{n}" for n in rest)
    return (
        f"INSERT INTO {table.name} ({cols})"
        f" SELECT {', '.join(f's.{n}' for n in names)} FROM {_stage(table)} s"
        f" WHERE NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {same_key}"
        f" AND ({stored}) IS NOT DISTINCT FROM ({staged}) OFFSET 0)"
        f" ORDER BY {', '.join(f's.{k}' for k in conflict)}"
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
    batch. A first delivery, nearly every batch a run writes, has nothing to merge: its
    rows are streamed into ``results`` as they are built (:meth:`fresh`: no probe, no
    savepoint, no staging; the server stores a row while the next is built), and a key
    stored already refuses the ``COPY`` (:class:`StoredMeanwhile`: the caller rolls back
    and writes the batch again with :meth:`upsert`). :meth:`upsert` asks which results
    are stored (one index probe), ``COPY``-es the new ones straight in under a savepoint
    and merges the stored ones; when another writer records one of the "new" results
    between the probe and the ``COPY``, its unique key refuses the ``COPY``, which is undone
    to the savepoint, and the whole batch is merged instead. The upsert stays idempotent
    by the result's identity (``id`` is derived from ``(run_id, case_id, epoch)``). Rows
    are written in key order so two workers delivering the same shard cannot deadlock,
    and a score a newer delivery no longer has is deleted. The staging tables are
    ``TEMP … ON COMMIT DELETE ROWS``: created once per connection, emptied by every commit
    that used them, invisible to other sessions.

    The ``COPY`` is binary: the client sends numbers, times and texts as they are instead
    of formatting and escaping them, and the server skips parsing them (3-4 µs less of
    each side's CPU per result with two scores; JSON is sent as its text either way).
    """

    def __init__(self) -> None:
        r, s = t.results, t.scores
        # The ids as one text (a list parameter costs the client more than the probe does
        # the server); an id is a UUID, never a space.
        self.probe = f"SELECT id, {SPENT} FROM results WHERE id = ANY(string_to_array(%s, ' '))"
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

    def fresh(self, cursor: Any, results: BulkUpsert, scores: BulkUpsert, rows: ResultRows) -> None:
        """``COPY`` every row straight in, building the results' rows as they are sent (the
        rows come in key order); refused (unique violation) when one is stored."""
        self._copy(cursor, results, results.table.name, rows.stream())
        self._copy(cursor, scores, scores.table.name, rows.scores)
        charge(cursor, rows.charges({}), "%s")

    def upsert(
        self, cursor: Any, results: BulkUpsert, scores: BulkUpsert, rows: ResultRows
    ) -> bool:
        """New results ``COPY``-ed in, stored ones merged; whether any was stored."""
        ids = (" ".join(rows.ids()),)
        # The staging tables, made ready first (nearly every batch that asks first has
        # stored results to merge).
        cursor.execute(self.create)
        cursor.execute(self.probe, ids)
        spent = dict(cursor.fetchall())
        stored = set(spent)
        rows.complete()
        fresh = [r for r in rows.results if r["id"] not in stored]
        if fresh:
            new_ids = {r["id"] for r in fresh}
            fresh_scores = [s for s in rows.scores if s["result_id"] in new_ids]
            try:
                with cursor.connection.transaction():  # a savepoint
                    self._copy(cursor, results, results.table.name, fresh)
                    self._copy(cursor, scores, scores.table.name, fresh_scores)
            except Exception as exc:  # psycopg is an optional dependency
                if getattr(exc, "sqlstate", None) != _UNIQUE_VIOLATION:
                    raise
                stored |= new_ids  # another writer recorded some meanwhile
                cursor.execute(self.probe, ids)  # (waited for: committed now)
                spent = dict(cursor.fetchall())
        if stored:
            self._merge(cursor, results, scores, rows, stored)
        charge(cursor, rows.charges(spent), "%s")
        return bool(stored)

    def _merge(
        self,
        cursor: Any,
        results: BulkUpsert,
        scores: BulkUpsert,
        rows: ResultRows,
        ids: set[str],
    ) -> None:
        self._copy(
            cursor, results, _stage(results.table), [r for r in rows.results if r["id"] in ids]
        )
        self._copy(
            cursor, scores, _stage(scores.table), [s for s in rows.scores if s["result_id"] in ids]
        )
        cursor.execute(f"{self.merge}; {self.stale}")

    @staticmethod
    def _copy(cursor: Any, upsert: BulkUpsert, into: str, rows: Iterable[dict[str, Any]]) -> None:
        """``COPY`` ``rows`` (in key order) into ``into``; nothing when there are none."""
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return
        values = upsert.copy_values
        cursor.adapters.register_dumper(None, _jsonb_text_dumper())
        row = first
        try:
            with cursor.copy(
                f"COPY {into} ({', '.join(upsert.names)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(upsert.pg_types)
                write = copy.write_row
                write(values(first))
                for row in rows:
                    write(values(row))
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            # A value of a type its column's binary form cannot take (the ``COPY`` was
            # ended with an error: nothing of it is kept).
            which = row.get("id") or row.get("result_id")
            raise _refused(f"{into}: a value of the row of result {which}: {exc}") from exc
