"""SQLite writes many rows to a statement (``storage.sqlite_rows``): every row goes in once,
in order, each value as it was given, in a handful of statements rather than one per row
(``sqlite3`` lets go of the GIL at every statement step, and each step then waited for
the event loop's thread to hand it back)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evalbook
from evalbook.config import stored_bytes_limit
from evalbook.storage import bulk, sqlite_rows
from evalbook.storage.bulk import ResultRows
from evalbook.storage.sqlite_rows import ROWS_PER_STATEMENT, SQLiteRows
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(tmp_path / "rows.db")
    c.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, s TEXT, f REAL, b BLOB, n INTEGER)")
    yield c
    c.close()


def _row(k: int) -> tuple[Any, ...]:
    text = None if k % 7 == 0 else f"row {k} \x00 ünï 𝄞 'q' \"d\""
    return (k, text, k / 3 + 1e-17 * k, bytes([k % 256]) * (k % 5), 2**62 - k)


def _statements(conn: sqlite3.Connection) -> list[str]:
    """The ``INSERT`` statements ``conn`` executes from now on (each run of a statement:
    ``executemany`` runs its statement once per row)."""
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("INSERT") else None)
    return seen


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 17, 255, 256, 257, 600, 1000])
def test_every_row_goes_in_once_as_given_in_few_statements(
    conn: sqlite3.Connection, n: int
) -> None:
    rows = [_row(k) for k in range(n)]
    seen = _statements(conn)
    SQLiteRows("INSERT INTO t (k, s, f, b, n) VALUES ", 5).write(conn.cursor(), iter(rows))
    conn.set_trace_callback(None)
    assert conn.execute("SELECT k, s, f, b, n FROM t ORDER BY k").fetchall() == rows
    full = n // ROWS_PER_STATEMENT[0]
    # 600 rows: 256 + 256 + 64 + 16 + 4 + 4 — six statements, not six hundred.
    assert len(seen) <= full + 3 * (len(ROWS_PER_STATEMENT) - 1)
    if n == 600:
        assert len(seen) == 6


def test_a_statement_stays_within_sqlites_limit_on_parameters(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_rows, "_sqlite_max_parameters", lambda: 999)  # SQLite before 3.32
    writer = SQLiteRows("INSERT INTO t (k, s, f, b, n) VALUES ", 5)
    assert max(writer.sizes) * 5 <= 999 and writer.sizes[-1] == 1
    rows = [_row(k) for k in range(500)]
    writer.write(conn.cursor(), rows)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (500,)


def test_a_tail_applies_to_every_row_of_a_statement(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO t (k, s) VALUES (3, 'first writer')")
    keep = SQLiteRows("INSERT INTO t (k, s, f, b, n) VALUES ", 5, " ON CONFLICT DO NOTHING")
    keep.write(conn.cursor(), [_row(k) for k in range(300)])
    assert conn.execute("SELECT s FROM t WHERE k = 3").fetchone() == ("first writer",)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (300,)
    plain = SQLiteRows("INSERT INTO t (k, s, f, b, n) VALUES ", 5)
    with pytest.raises(sqlite3.IntegrityError):  # a stored key: the caller merges instead
        plain.write(conn.cursor(), [_row(k) for k in range(290, 310)])


async def test_a_batch_of_results_is_written_in_a_handful_of_statements(
    tmp_path: Path, server: Any
) -> None:
    """300 results with two scores each, new and then merged over: a few statements each
    way (the per-row ``executemany`` stepped 900 times)."""
    store = Store.open(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        run = await evalbook.arun(yes_no_suite(300, server.base_url), store=store)
        results = list(store.iter_results(run.id))
        for probe in (True, False):  # merged over the stored rows; then as new (refused)
            batch = ResultRows(
                [(r, i) for i, r in enumerate(results)], stored_bytes_limit(), in_key_order=False
            )
            with store.write() as c:
                seen = _statements(c.connection.driver_connection)
                try:
                    store._bulk.write(c, batch, probe=probe)
                except bulk.StoredMeanwhile:
                    assert not probe
                finally:
                    c.connection.driver_connection.set_trace_callback(None)
            assert 0 < len(seen) <= 12, len(seen)
        assert list(store.iter_results(run.id)) == results
    finally:
        store.close()


def test_events_are_appended_as_sqlalchemy_writes_them_in_few_statements(
    tmp_path: Path,
) -> None:
    """A worker's progress log: the values stored are those SQLAlchemy's insert stores
    (its JSON and time texts, read back alike), 600 events in six statements."""
    import sqlalchemy as sa

    from evalbook.storage import tables
    from evalbook.storage.run_events import append_events, read_events
    from evalbook.storage.stored_values import without_nul

    store = Store.open(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        data = [{"case_id": f"c{i}", "epoch": 0, "output": 'ünï \x00 𝄞 "q"'} for i in range(600)]
        with store.write() as c:
            seen = _statements(c.connection.driver_connection)
        append_events(store, [("run-a", "item", d) for d in data])
        with store.write() as c:
            c.connection.driver_connection.set_trace_callback(None)
            at = c.execute(sa.select(tables.run_events.c.created_at).limit(1)).scalar_one()
            c.execute(
                sa.insert(tables.run_events),
                [
                    {"run_id": "run-b", "kind": "item", "data": without_nul(d), "created_at": at}
                    for d in data
                ],
            )
        assert len(seen) == 6
        ours, theirs = (
            read_events(store, "run-a", limit=600),
            read_events(store, "run-b", limit=600),
        )
        assert [(e.kind, e.data, e.created_at) for e in ours] == [
            (e.kind, e.data, e.created_at) for e in theirs
        ]
        assert [e.data["case_id"] for e in ours] == [d["case_id"] for d in data]  # in order
        assert ours[0].data["output"] == 'ünï \ufffd 𝄞 "q"'  # a NUL replaced, as before
    finally:
        store.close()
