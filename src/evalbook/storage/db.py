"""Engines and migrations. SQLite (WAL, one writer) by default; PostgreSQL when configured."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic_core
import sqlalchemy as sa

from evalbook.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
WRITE_OPTION = "evalbook_write"


class RawJSON:
    """JSON text already serialised (a big suite's definition, assembled from each case's
    canonical JSON): written to a JSON column as it is, not parsed and dumped again."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _to_json(value: Any) -> str:
    return value.text if isinstance(value, RawJSON) else json.dumps(value)


#: How the engines serialise and parse JSON columns (for writes that skip SQLAlchemy).
to_json = _to_json
from_json = pydantic_core.from_json


def make_engine(url: str) -> sa.Engine:
    """An engine tuned for evalbook's access pattern: one batching writer, many readers.
    JSON columns are read by pydantic's Rust parser (a list page of runs spent a third of
    its time in ``json.loads``)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=_to_json,
            json_deserializer=pydantic_core.from_json,
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling delays BEGIN; take it over (SQLAlchemy's
        # documented recipe). Writes begin IMMEDIATE: a deferred transaction that reads
        # and then writes fails at once with "database is locked" when another writer got
        # in between, instead of waiting its turn.
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        engine = sa.create_engine(
            url,
            pool_size=10,
            max_overflow=10,
            json_serializer=_to_json,
            json_deserializer=pydantic_core.from_json,
        )
    except Exception as exc:  # bad URL, missing driver
        raise StorageError(f"cannot open database {redact_url(url)}: {exc}") from exc
    sa.event.listen(engine, "checkin", _note_idle)
    sa.event.listen(engine, "checkout", _idle_pinger(engine.dialect))
    return engine


#: A pooled PostgreSQL connection idle longer than this is pinged before it is handed
#: out; one back from use more recently is not (see :func:`_idle_pinger`).
PING_IDLE_S = 5.0
_IDLE_SINCE = "evalbook_idle_since"


def _note_idle(_dbapi_conn: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _idle_pinger(dialect: sa.Dialect) -> Callable[[Any, Any, Any], None]:
    """SQLAlchemy's ``pool_pre_ping``, for connections that sat idle only.

    A connection idle a while may have been closed under us (a database restart, a proxy's
    idle timeout): it is pinged at checkout, and a dead one is replaced, with every pooled
    connection older than it, before anyone uses it. A connection back from use a moment
    ago is handed out as it is: pinging it too cost a round trip on every checkout, a tenth
    of a busy list page's time. If the database goes away in that moment, the statement
    fails once and SQLAlchemy drops the pool's connections, as it does when the database
    goes away between a ping and the statement."""

    def ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.InvalidatePoolError(f"an idle connection failed its ping: {exc}") from exc

    return ping_if_idle


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine, marked so that its transactions take the write lock up front."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # The busy timeout first, so that every statement below waits for a lock.
    cur.execute("PRAGMA busy_timeout=30000")
    _sqlite_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_wal(cur: Any) -> None:
    """Put the file in WAL mode (persistent: only the first opener switches it).

    Switching needs a moment alone with the file; SQLite answers "database is locked" at once,
    without its busy handler, when another process is opening the same new file. That race is
    waited out here rather than failing the second opener.
    """
    deadline = time.monotonic() + 30.0
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() in ("wal", "memory"):
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def _alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    from alembic import command

    try:
        with writer(engine).connect() as conn:
            if engine.dialect.name != "sqlite":
                with conn.begin():
                    # Processes starting together upgrade one after another, not at once.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242000017)")
                    command.upgrade(_alembic_config(conn), revision)
                return
            # SQLite alters a table by rebuilding it (Alembic's batch mode), which drops the
            # old table; with foreign keys enforced that DROP fails as soon as another table
            # refers to a row of it. SQLite's documented procedure: keys off (outside the
            # transaction, where the pragma takes effect), migrate, check every reference
            # before committing, keys back on.
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    command.upgrade(_alembic_config(conn), revision)
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        table, rowid, parent, _ = broken[0]
                        raise StorageError(
                            f"migrating {redact_url(str(engine.url))} left {len(broken)}"
                            f" reference(s) without a row, the first in {table} (row {rowid})"
                            f" to {parent}; nothing was changed"
                        )
            finally:
                raw.execute("PRAGMA foreign_keys=ON")
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"migrating {redact_url(str(engine.url))} failed: {exc}") from exc


def ensure_schema(engine: sa.Engine) -> None:
    """Upgrade when the database is behind; refuse a database newer than this evalbook.

    A database already at the head is recognised without Alembic (importing it cost a
    command a fifth of its start-up): the stored revision is read with one query and the
    head from the migration files' ``revision`` lines.
    """
    at_head = files_head()
    if at_head is not None and _stored_revision(engine) == at_head:
        return
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is not None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
        if current not in known:
            raise StorageError(
                f"the database is at schema revision {current}, newer than this evalbook"
                f" knows (head {head}); upgrade evalbook"
            )
    upgrade(engine)


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


def files_head() -> str | None:
    """The head revision as the migration files name it (``revision = "0005"``,
    ``down_revision = "0004"``): the one revision no other file names as its parent;
    ``None`` when that is not exactly one (Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(value.strip("\"'"))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def _stored_revision(engine: sa.Engine) -> str | None:
    """The revision recorded in ``alembic_version`` (``None``: no table, no row, or more
    than one row)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    return str(rows[0][0]) if len(rows) == 1 else None
