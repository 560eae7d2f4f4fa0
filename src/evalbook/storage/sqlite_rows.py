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
    Their text is made at the first write (not when a module or store is loaded: a
    PostgreSQL store never writes through one).
    """

    def __init__(self, head: str, width: int, tail: str = "") -> None:
        self.head = head
        self.width = width
        self.tail = tail

    @functools.cached_property
    def sizes(self) -> list[int]:
        """The rows per statement, largest first, within the linked SQLite's limit."""
        limit = _sqlite_max_parameters()
        return [n for n in ROWS_PER_STATEMENT if n * self.width <= limit] or [1]

    @functools.cached_property
    def sql(self) -> dict[int, str]:
        """The statement of each of :attr:`sizes`."""
        marks = "(" + ", ".join(["?"] * self.width) + ")"
        return {n: self.head + ", ".join([marks] * n) + self.tail for n in self.sizes}

    def write(self, cursor: Any, rows: Iterable[Sequence[Any]]) -> None:
        """Execute the statements for ``rows`` (each ``width`` values, in column order)."""
        sql = self.sql
        largest, *smaller = self.sizes
        full = largest * self.width
        pending: list[Any] = []
        for row in rows:
            pending.extend(row)
            if len(pending) == full:
                cursor.execute(sql[largest], pending)
                pending = []
        at, left = 0, len(pending) // self.width
        for n in smaller:
            while left >= n:
                end = at + n * self.width
                cursor.execute(sql[n], pending[at:end])
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
