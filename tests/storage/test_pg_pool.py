"""PostgreSQL connections in the pool: an idle one the server closed (a restart, a proxy's
idle timeout) is replaced before use; one back from use a moment ago is not pinged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from evalbook.storage import db
from evalbook.storage.store import Store


@pytest.fixture
def pg(pg_url: str) -> Iterator[Store]:
    store = Store.open(pg_url)
    yield store
    store.close()


def _backend_pid(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pg_url: str, pid: int) -> None:
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            # pg_terminate_backend only signals the backend: wait until it has gone, or a
            # ping could still reach it under load and the next statement then fail.
            assert conn.execute(
                sa.text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid}
            ).scalar()
    finally:
        admin.dispose()


def _pings(store: Store) -> list[object]:
    seen: list[object] = []
    original = store.engine.dialect.do_ping

    def counting(dbapi_conn: object) -> bool:
        seen.append(dbapi_conn)
        return original(dbapi_conn)

    store.engine.dialect.do_ping = counting  # type: ignore[method-assign]
    return seen


def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    pg: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(pg)
    assert _backend_pid(pg) == pid  # the pool hands the same connection back
    _terminate(pg_url, pid)
    monkeypatch.setattr(db, "PING_IDLE_S", 0.0)  # every pooled connection counts as idle
    assert _backend_pid(pg) != pid  # answered, on a new connection: no error reached us
    assert pg.list_runs() == []


def test_a_connection_back_from_use_a_moment_ago_is_not_pinged(pg: Store) -> None:
    pings = _pings(pg)
    for _ in range(5):
        _backend_pid(pg)
    assert pings == []


def test_an_idle_connection_is_pinged(pg: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    pings = _pings(pg)
    pid = _backend_pid(pg)
    monkeypatch.setattr(db, "PING_IDLE_S", 0.0)
    assert _backend_pid(pg) == pid  # alive: pinged and handed out as it is
    assert len(pings) == 1


def test_one_statement_reads_open_no_transaction_and_leave_the_pool_transactional(
    pg: Store,
) -> None:
    from psycopg.pq import TransactionStatus

    with pg.reader.connect() as conn:
        pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        # In a transaction the connection would be INTRANS until the ROLLBACK on return.
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE
    with pg.engine.connect() as conn:  # the same pooled connection, for writes again
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() == pid
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.INTRANS
        assert conn.connection.dbapi_connection.autocommit is False
