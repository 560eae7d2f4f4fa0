"""SQLite writes while another thread runs Python: one row to a statement step
(``executemany``) against many rows to a statement (``storage.sqlite_rows``, what the
result writer and the response cache use).

Python's ``sqlite3`` lets go of the GIL around every step of a statement; ``executemany``
steps once per row. A run's writes happen on the store thread while the event loop's
thread runs Python (scoring, building results), and each step then waits for the GIL to
come back, up to the interpreter's switch interval. This prints, for a batch of rows as
wide as a result row, the milliseconds each way with the other thread idle and busy
(median of alternating rounds), on a real database file in WAL mode.

    python benchmarks/bench_sqlite_writes.py [--rows 2500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalbook.storage import tables
from evalbook.storage.sqlite_rows import SQLiteRows

WIDTH = len(tables.results.c)


def _rows(n: int, batch: int) -> list[tuple[Any, ...]]:
    text = "an answer of a model, " * 8
    return [(f"{batch}-{i:08d}", text, i * 0.5, i, *([None] * (WIDTH - 4))) for i in range(n)]


class Busy:
    """A thread running Python until stopped (the event loop at work)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:
        total = 0
        while not self._stop.is_set():
            total += sum(range(200))

    def __enter__(self) -> Busy:
        self._thread.start()
        time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2500, help="rows per batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp())
    conn = sqlite3.connect(folder / "bench.db", check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    columns = ", ".join(f"c{i}" for i in range(WIDTH))
    conn.execute(f"CREATE TABLE t (c0 TEXT PRIMARY KEY, {columns.split(', ', 1)[1]})")
    head = f"INSERT INTO t ({columns}) VALUES "
    one_by_one = head + "(" + ", ".join(["?"] * WIDTH) + ")"
    many = SQLiteRows(head, WIDTH)
    batches = iter(range(1_000_000))

    def executemany(rows: list[tuple[Any, ...]]) -> None:
        conn.executemany(one_by_one, rows)

    def many_to_a_statement(rows: list[tuple[Any, ...]]) -> None:
        many.write(conn.cursor(), rows)

    ways: dict[str, Callable[[list[tuple[Any, ...]]], None]] = {
        "executemany (a step per row)": executemany,
        "SQLiteRows (many rows a step)": many_to_a_statement,
    }
    times: dict[tuple[str, str], list[float]] = {}

    def timed(name: str, other: str) -> None:
        rows = _rows(args.rows, next(batches))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # each write from the same state
        t0 = time.perf_counter()
        with conn:
            ways[name](rows)
        times.setdefault((name, other), []).append((time.perf_counter() - t0) * 1000)

    for name in ways:  # warm: statements prepared, the file grown
        timed(name, "warm-up")
    for _ in range(args.rounds):
        for name in ways:
            timed(name, "idle")
            with Busy():
                timed(name, "busy")

    print(
        f"{args.rows:,} rows of {WIDTH} columns per batch, SQLite {sqlite3.sqlite_version},"
        f" switch interval {sys.getswitchinterval() * 1000:.0f} ms, median of {args.rounds}"
    )
    print(f"{'':32} {'other thread idle':>18} {'other thread busy':>18}")
    for name in ways:
        idle = statistics.median(times[(name, "idle")])
        busy = statistics.median(times[(name, "busy")])
        print(f"{name:32} {idle:15.1f} ms {busy:15.1f} ms")
    conn.close()


if __name__ == "__main__":
    main()
