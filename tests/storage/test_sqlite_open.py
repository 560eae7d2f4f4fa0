"""Workers opening one new SQLite database together all succeed.

CI once failed when three workers opened one new database file at the same moment: the
switch to WAL answered "database is locked" at once (SQLite does not call its busy handler
for every lock it meets there). ``storage.db`` now switches only a file that is not WAL yet
and waits such a moment out.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from evalbook.storage.store import Store


@pytest.mark.parametrize("round_", range(4))
def test_many_openers_of_one_new_file_all_succeed(tmp_path: Path, round_: int) -> None:
    path = tmp_path / f"new{round_}.db"
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def one() -> None:
        barrier.wait()
        try:
            Store.open(f"sqlite:///{path}").close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
