"""Rows written to SQLite many to a statement, not one statement step per row.

Why: Python's ``sqlite3`` lets go of the GIL around every step of a statement, and
``executemany`` (SQLAlchemy's too) steps once per row. While another thread runs Python
(the event loop, a server's request threads), each of those steps then waits for the GIL
to come back, up to the interpreter's switch interval (5 ms): 2,500 rows as wide as a
result took 29 ms with the other thread idle and 3.8 s with it busy; many to a statement,
26 ms and 0.12 s (``benchmarks/bench_sqlite_writes.py``). A run's own figures moved less
(its writer waits for the loop mostly while it builds rows in Python, sharing the GIL
either way), but no batch stalls behind a busy loop any more.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ROWS_PER_STATEMENT", "SQLiteRows"]


class SQLiteRows:
    """``INSERT … VALUES (…), (…), …`` of rows of ``width`` values, many to a statement.

    The statements have a few fixed sizes (:data:`ROWS_PER_STATEMENT`, within SQLite's
    limit on parameters) so that ``sqlite3``'s statement cache keeps each one prepared.
    """

    def __init__(self, head: str, width: int, tail: str = "") -> None:
        self.width = width
        marks = "(" + ", ".join(["?"] * width) + ")"
        limit = _sqlite_max_parameters()
        self.sizes = [n for n in ROWS_PER_STATEMENT if n * width <= limit] or [1]
        self.sql = {n: head + ", ".join([marks] * n) + tail for n in self.sizes}

    def write(self, cursor: Any, rows: Iterable[Sequence[Any]]) -> None:
        """Execute the statements for ``rows`` (each ``width`` values, in column order)."""
        pending: list[Any] = []
        largest = self.sizes[0]
        for row in rows:
            pending.extend(row)
            if len(pending) == largest * self.width:
                cursor.execute(self.sql[largest], pending)
                pending = []
        at, left = 0, len(pending) // self.width
        for n in self.sizes[1:]:
            while left >= n:
                end = at + n * self.width
                cursor.execute(self.sql[n], pending[at:end])
                at, left = end, left - n


#: Rows per statement of :class:`SQLiteRows`, largest first: a batch of up to 255 rows
#: beyond the full statements takes at most 12 more.
ROWS_PER_STATEMENT = (256, 64, 16, 4, 1)


@functools.cache
def _sqlite_max_parameters() -> int:
    """The linked SQLite's limit on a statement's parameters (999 before 3.32, 32,766
    after by default; builds set their own)."""
    probe = sqlite3.connect(":memory:")
    try:
        return probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        probe.close()
