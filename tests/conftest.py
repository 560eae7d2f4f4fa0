"""Shared fixtures: real databases (SQLite and PostgreSQL), the local test server, a clean
``EVALBOOK_HOME`` per test, and zero retry waits."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalbook.storage import tables
from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread

PG_ADMIN_URL = os.environ.get(
    "EVALBOOK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    # The CLI's consoles take their width from COLUMNS once, when first imported (while
    # tests are collected); a width there (pytest-xdist's workers are given COLUMNS=80) would
    # hold for every test. Without one they read COLUMNS as each test sets it.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def model_home() -> Path:
    """Where the real SmolLM2 model file is kept between test runs (downloaded once)."""
    home = Path(
        os.environ.get("EVALBOOK_TEST_MODEL_HOME") or Path.home() / ".cache" / "evalbook-test-home"
    )
    home.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EVALBOOK_RETRY_SCALE", "0")
    # The local test servers run on loopback; a server refuses such model endpoints unless
    # allowed (tests of that policy set their own allowlist).
    monkeypatch.setenv("EVALBOOK_ALLOW_MODEL_HOSTS", "127.0.0.1,::1,localhost")
    monkeypatch.delenv("EVALBOOK_DATABASE_URL", raising=False)
    monkeypatch.delenv("EVALBOOK_BROKER_URL", raising=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"evalbook_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is required for the test suite ({PG_ADMIN_URL}): {exc}")
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _pg_store(pg_url: str) -> Iterator[Store]:
    store = Store.open(pg_url)
    yield store
    store.close()


def _truncate(store: Store) -> None:
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            names = ", ".join(t.name for t in tables.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(tables.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database URL of each kind; also exported as ``EVALBOOK_DATABASE_URL`` so CLI
    subprocesses and ``evalbook.run`` use it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'evalbook.db'}"
    else:
        store: Store = request.getfixturevalue("_pg_store")
        _truncate(store)
        url = str(request.getfixturevalue("pg_url"))
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def test_server() -> Iterator[object]:
    """The local OpenAI-compatible server with no latency and no random faults."""
    with run_test_server_in_thread(TestServerConfig()) as server:
        yield server


@pytest.fixture
def server(test_server: object) -> object:
    test_server.reset()  # type: ignore[attr-defined]
    return test_server
