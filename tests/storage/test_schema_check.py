"""Opening a database at the head needs no Alembic; one behind is still upgraded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from evalbook.storage.db import files_head, head_revision, make_engine, upgrade
from evalbook.storage.store import Store


def test_the_files_name_the_head_alembic_knows() -> None:
    assert files_head() == head_revision()


def test_a_database_behind_the_head_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    upgrade(engine, "0001")
    engine.dispose()
    store = Store.open(url)
    with store.engine.connect() as conn:
        revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert sa.inspect(conn).has_table("run_shards")  # added by a later migration
    store.close()
    assert revision == head_revision()


def test_opening_a_database_at_the_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/head.db"
    Store.open(url).close()
    probe = (
        "import sys; from evalbook.storage.store import Store;"
        f"Store.open({url!r}).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
