"""A big dataset suite's definition written in pieces (a 200 MB dataset is a ~234 MB
definition: its text, the driver's copy of it and the row the database built of it were
three times that in this process, beside the cases).

PostgreSQL: the row goes by ``COPY … FROM STDIN``, the definition in escaped pieces
straight from the cases' buffer, never whole in this process; in a savepoint, so that a
suite another writer recorded meanwhile is kept as it is (as ``ON CONFLICT DO NOTHING``
keeps it).

SQLite: the row is inserted with a blank TEXT of the definition's length, then written in
place piece by piece through an incremental blob handle: the stored value is the same TEXT
the whole text's ``INSERT`` stores. SQLite still builds that row whole once (the blank
value and the row: twice the definition; only a zero-filled BLOB in the row's last column
is left unmade, and ``created_at`` follows the definition), so the cases are set aside in
a temporary file meanwhile rather than held beside it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from evalbook.config import suite_bytes_limit
from evalbook.core.suite import CaseList, Suite
from evalbook.errors import StorageError
from evalbook.storage import tables as t

__all__ = ["STREAM_BYTES", "streamed_size", "write_streamed"]

#: A definition at least this long (UTF-8 bytes) of a dataset suite is written in pieces.
STREAM_BYTES = 8 << 20
_CHUNK = 1 << 20
_NUL = b"\\u0000"


def _bytes(piece: str | bytes | memoryview) -> bytes:
    return piece.encode() if isinstance(piece, str) else bytes(piece)


def _pieces(suite: Suite) -> Iterator[bytes]:
    return (_bytes(piece) for piece in suite.definition_pieces())


def streamed_size(suite: Suite) -> int | None:
    """The size (UTF-8 bytes) of ``suite``'s definition when it is to be written in
    pieces: a dataset suite's, at least :data:`STREAM_BYTES` long, within the size limit
    and without what may be a NUL character (``\\u0000``); ``None`` otherwise (the whole
    text is made then, and a suite over the limit or with a NUL is refused naming why)."""
    if not isinstance(suite.cases, CaseList):
        return None
    size, last = 0, b""
    for data in _pieces(suite):
        if _NUL in last[-len(_NUL) + 1 :] + data[: len(_NUL) - 1] or _NUL in data:
            return None
        size, last = size + len(data), data
    return size if STREAM_BYTES <= size <= suite_bytes_limit() else None


def write_streamed(conn: sa.Connection, suite: Suite, row: dict[str, Any], size: int) -> bool:
    """Record ``suite`` (``row``: the suites row but its definition, ``size`` bytes, see
    :func:`streamed_size`) in the write transaction ``conn``, unless its hash is recorded
    already; False when it could not be written in pieces (nothing written then)."""
    if conn.dialect.name == "postgresql":
        return _copy_postgresql(conn, suite, row)
    return _blob_sqlite(conn, suite, row, size)


# -- PostgreSQL ----------------------------------------------------------------------------

_COPY_COLUMNS = ("hash", "suite_id", "name", "version", "source", "case_count", "created_at")
#: COPY's text format: these bytes are written escaped (the other bytes as they are).
_COPY_ESCAPES = ((b"\\", b"\\\\"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t"))


def _copy_escaped(data: bytes) -> bytes:
    for raw, escaped in _COPY_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def _copy_field(value: object) -> bytes:
    if value is None:
        return b"\\N"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return _copy_escaped(text.encode())


def _copy_postgresql(conn: sa.Connection, suite: Suite, row: dict[str, Any]) -> bool:
    from psycopg.errors import UniqueViolation

    dbapi = conn.connection.driver_connection
    if dbapi is None or dbapi.info.encoding != "utf-8":  # pieces are UTF-8 bytes
        return False
    columns = ", ".join((*_COPY_COLUMNS, "definition"))
    statement = f"COPY {t.suites.name} ({columns}) FROM STDIN"
    head = b"\t".join(_copy_field(row[c]) for c in _COPY_COLUMNS) + b"\t"
    try:
        with conn.begin_nested(), dbapi.cursor() as cur, cur.copy(statement) as copy:
            copy.write(head)
            for data in _pieces(suite):
                copy.write(_copy_escaped(data))
            copy.write(b"\n")
    except UniqueViolation as exc:  # recorded meanwhile by another writer: kept as it is
        if exc.diag.constraint_name != "pk_suites":
            raise
    return True


# -- SQLite --------------------------------------------------------------------------------


def _blob_sqlite(conn: sa.Connection, suite: Suite, row: dict[str, Any], size: int) -> bool:
    cases = suite.cases
    assert isinstance(cases, CaseList)
    # The head, the cases' buffer in pieces, the tail; the cases kept in a text made
    # already are not one buffer to set aside (the INSERT then).
    pieces = list(suite.definition_pieces())
    if len(pieces) < 3 or not all(isinstance(p, memoryview) for p in pieces[1:-1]):
        return False
    head, tail = _bytes(pieces[0]), _bytes(pieces[-1])
    cases_size = size - len(head) - len(tail)
    del pieces
    with tempfile.TemporaryFile() as spill:
        try:
            cases.set_aside(spill)
        except OSError:  # no room for them there: the whole text's INSERT instead
            return False
        try:
            if spill.tell() != cases_size + 1:  # each case is followed by a comma there
                return False
            blank = sa.cast(sa.func.zeroblob(size), sa.Text)  # made whole, once, by SQLite
            insert = sqlite_insert(t.suites).values(definition=blank).on_conflict_do_nothing()
            if conn.execute(insert, row).rowcount == 0:
                return True  # recorded already
            rowid: int = conn.execute(
                sa.select(sa.literal_column("rowid"))
                .select_from(t.suites)
                .where(t.suites.c.hash == row["hash"])
            ).scalar_one()
            dbapi = conn.connection.driver_connection
            assert dbapi is not None
            with dbapi.blobopen(t.suites.name, "definition", rowid) as blob:
                blob.write(head)
                spill.seek(0)
                for at in range(0, cases_size, _CHUNK):
                    blob.write(spill.read(min(_CHUNK, cases_size - at)))
                blob.write(tail)
                if blob.tell() != size:
                    raise StorageError(f"suite definition written short: {blob.tell()} of {size}")
        finally:
            cases.take_back(spill)
    return True
