"""A database that fills up mid-run: the run says what is full, keeps nothing partial, stays
interrupted (not failed) and completes on resume once there is room. SQLite's own page
limit (``PRAGMA max_page_count``) makes the database really full."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.core.run import RunStatus
from evalbook.errors import StorageFull
from evalbook.storage.store import Store, is_full
from evalbook.suites import load_suite_from_dict

from ..worker.helpers import result_rows


def _suite() -> Any:
    return load_suite_from_dict(
        {
            "id": "full",
            "model": "mock:echo",
            "prompt": "{{ q }} " + "x" * 2000,
            "scorers": [{"contains": "x"}],
            "cases": [{"id": f"c{i}", "vars": {"q": i}} for i in range(300)],
        }
    )


async def test_a_full_database_leaves_the_run_interrupted_and_resumable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    full = Store.open(url)
    with full.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    full.engine.dispose()

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 60}")

    sa.event.listen(full.engine, "connect", cap)
    with pytest.raises(StorageFull, match=r"is full.*kept as interrupted.*evalbook resume") as exc:
        await evalbook.arun(_suite(), store=full, concurrency=4)
    run_id = str(exc.value).split("evalbook resume ")[1].rstrip("`")
    run = full.get_run(run_id)
    assert run.status is RunStatus.running and run.stop_reason is None  # not failed
    recorded = result_rows(full, run_id)
    assert len(recorded) == len(set(recorded)) < 300  # whole batches only, no duplicate
    full.close()

    roomy = Store.open(url)
    try:
        done = await evalbook.aresume(run_id, store=roomy)
        assert done.status is RunStatus.completed and done.counts.total == 300
        rows = result_rows(roomy, run_id)
        assert len(rows) == len(set(rows)) == 300
    finally:
        roomy.close()


def test_what_counts_as_full() -> None:
    import errno
    import sqlite3

    assert is_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_full(sqlite3.OperationalError("database is locked"))
