"""Whether a database error says the database or its disk is full (``Store`` then raises
:class:`~evalbook.errors.StorageFull`, which a run stops on instead of failing cases)."""

from __future__ import annotations

import errno

__all__ = ["is_full"]


def is_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database or its disk is full: SQLite's
    SQLITE_FULL, PostgreSQL's disk_full (53100), or ENOSPC."""
    seen: BaseException | None = exc
    while seen is not None:
        orig = getattr(seen, "orig", None)
        for err in (seen, orig):
            if err is None:
                continue
            if getattr(err, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
                return True
            if getattr(err, "sqlstate", None) == "53100":
                return True
            if isinstance(err, OSError) and err.errno == errno.ENOSPC:
                return True
            if "database or disk is full" in str(err):
                return True
        seen = seen.__cause__ or seen.__context__
    return False
