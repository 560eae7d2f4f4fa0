"""is-sql: the output is well-formed SQL, as far as that can be known without a schema.

"Valid SQL" needs a database: whether ``SELECT name FROM users`` is valid depends on a
``users`` table with a ``name`` column. Without one, what can be checked is the
*syntax*, so here well-formed means: SQLite's own parser accepts every statement. Each
statement is compiled with ``EXPLAIN`` (which builds the program and never runs it) in an
empty in-memory database, and only the parser's errors fail it (``syntax error``,
``incomplete input``, ``unrecognized token``). Errors that come after parsing — unknown
tables, columns or functions, which need the schema, and other semantic checks such as
a UNION of unequal widths — do not; the rationale mentions the first one.

Statements are split with ``sqlite3.complete_statement`` (which knows strings and
comments); more than one fails unless ``multiple: true``. A ```` ```sql ```` fence is
looked inside. The dialect is SQLite's: it accepts most standard SQL, but
PostgreSQL casts (``x::int``) and other dialect syntax are rejected. As a safeguard the
connection's authorizer denies ATTACH, DETACH and PRAGMA (reported as "not authorized",
which is not a parse error), so even compiling a statement cannot touch a file.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.output_text import unfence

__all__ = ["IsSql", "split_statements", "sql_problem"]

_PARSE_ERRORS = (
    "syntax error",
    "incomplete input",
    "unrecognized token",
    "parser stack",
    "one statement at a time",
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?(?:\*/|$)", re.DOTALL)
_DENIED = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA})
_local = threading.local()


def split_statements(text: str) -> list[str]:
    """The statements of ``text``, each with its ``;``; comment-only pieces dropped."""
    statements: list[str] = []
    start = 0
    for at in (m.start() for m in re.finditer(";", text)):
        piece = text[start : at + 1]
        if sqlite3.complete_statement(piece):
            statements.append(piece)
            start = at + 1
    statements.append(text[start:])
    return [s.strip() for s in statements if _COMMENTS.sub("", s).strip(" \t\r\n;")]


def _authorize(action: int, *_: object) -> int:
    return sqlite3.SQLITE_DENY if action in _DENIED else sqlite3.SQLITE_OK


def _connection() -> sqlite3.Connection:
    # One empty in-memory database per thread: connecting costs ~10x an EXPLAIN.
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.set_authorizer(_authorize)
        _local.conn = conn
    return conn


def sql_problem(text: str, multiple: bool = False) -> tuple[str | None, str | None]:
    """``(problem, None)`` when ``text`` is not well-formed SQL, else ``(None, note)``
    with the first post-parse error SQLite raised (``None`` when there was none)."""
    statements = split_statements(text)
    if not statements:
        return "no SQL statement", None
    if len(statements) > 1 and not multiple:
        return f"{len(statements)} statements; set multiple: true to allow several", None
    conn = _connection()
    note = None
    for number, statement in enumerate(statements, 1):
        try:
            conn.execute("EXPLAIN " + statement)
        except sqlite3.Error as exc:
            message = str(exc)
            where = f"statement {number}: " if len(statements) > 1 else ""
            if any(e in message for e in _PARSE_ERRORS):
                return f"{where}{message}", None
            note = note or f"{where}{message}"
    return None, note


class IsSqlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Allow several ``;``-separated statements.
    multiple: bool = False


class IsSql(Scorer):
    """The output is well-formed SQL (SQLite's parser accepts it; no schema is needed,
    so unknown tables and columns are not errors). See the module for the details."""

    takes_value: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = IsSqlOptions
    options: IsSqlOptions

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        text = unfence(ctx.output or "", ("sql", "sqlite", "postgresql", "mysql"))
        if not text:
            return ScoreOutcome(score=0.0, passed=False, rationale="output is empty")
        problem, note = sql_problem(text, self.options.multiple)
        if problem is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=f"not well-formed: {problem}")
        why = "well-formed SQL" + (f" (SQLite then said: {note})" if note else "")
        return ScoreOutcome(score=1.0, passed=True, rationale=why)
