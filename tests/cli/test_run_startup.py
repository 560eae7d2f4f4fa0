"""``evalbook run``'s start-up: a streamed run (a suite with a JSONL dataset, no cache to
look up) sends its first requests before the storage layer is imported and its database
opened (``cli/store.py``), before rich is imported when nothing is shown yet (``--json``),
and before the validators of the result models are built (``core/result.py``); it is
still recorded exactly as a run whose store opened first.
A database that cannot be opened ends the run with one clear error and a non-zero exit,
never a reported success; a cached run still looks its cache up before asking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from evalbook.core.run import RunStatus
from evalbook.storage.store import Store

from .test_streamed_cli import dataset_suite

# Runs ``evalbook run`` in this process, noting which modules were loaded when the first
# connection to the model's endpoint was opened (an audit hook: nothing is replaced).
PROBE = """
import json, sys
from urllib.parse import urlsplit
port = urlsplit(sys.argv[1]).port
heavy = ("sqlalchemy", "alembic", "numpy", "rich")
seen = {}
def hook(event, args):
    if event == "socket.connect" and not seen and isinstance(args[1], tuple):
        if args[1][1] == port:
            seen["loaded"] = sorted(m for m in heavy if m in sys.modules)
            result = sys.modules.get("evalbook.core.result")
            models = ("Attempt", "BlobRef", "ProviderEvidence", "Result")
            built = [m for m in models if getattr(result, m, None) is not None]
            seen["built"] = [m for m in built if getattr(result, m).__pydantic_complete__]
sys.addaudithook(hook)
from evalbook.cli.app import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    seen["exit"] = exc.code
print(json.dumps(seen), file=sys.stderr)
"""


def _probe(base_url: str, *args: str, env: dict[str, str]) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, base_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    seen: dict[str, Any] = json.loads(proc.stderr.strip().splitlines()[-1])
    return seen, proc.stdout


def _env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {**os.environ, "EVALBOOK_DATABASE_URL": db_url, "EVALBOOK_HOME": str(tmp_path)}


def test_a_streamed_run_asks_before_the_storage_layer_loads(
    tmp_path: Path, server: Any, db_url: str
) -> None:
    # on SQLite and PostgreSQL: the store opens on its own thread, then records the run
    suite = dataset_suite(tmp_path, server.base_url, 300)
    seen, out = _probe(
        server.base_url, "run", str(suite), "--no-cache", "--json", env=_env(tmp_path, db_url)
    )
    assert seen["loaded"] == [], seen  # the first request went out before SQLAlchemy, rich
    assert seen["built"] == [], seen  # and before a result model was built
    assert seen["exit"] in (0, None), seen
    assert server.requests == 300
    printed = json.loads(out)
    store = Store.open(db_url)
    try:
        [run] = store.list_runs()
        assert run.id == printed["id"] and run.status is RunStatus.completed
        assert run.counts.total == 300 and len(store.result_statuses(run.id)) == 300
        assert run.suite_hash and store.get_suite(run.suite_hash).hash == run.suite_hash
    finally:
        store.close()


def test_a_cached_run_looks_its_cache_up_before_asking(tmp_path: Path, server: Any) -> None:
    suite = dataset_suite(tmp_path, server.base_url, 40)
    db_url = f"sqlite:///{tmp_path / 'evalbook.db'}"
    env = _env(tmp_path, db_url)
    first, _ = _probe(server.base_url, "run", str(suite), "--json", env=env)
    assert first["exit"] in (0, None) and server.requests == 40
    # the cache is read before any request: the storage layer is loaded by then, and
    # nothing is asked again
    again, out = _probe(server.base_url, "run", str(suite), "--json", env=env)
    assert again["exit"] in (0, None), again
    assert server.requests == 40
    assert json.loads(out)["counts"]["cached"] == 40


def test_a_database_that_cannot_be_opened_fails_the_run_clearly(
    tmp_path: Path, server: Any
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    bad = f"sqlite:///{tmp_path / 'a-file' / 'evalbook.db'}"
    suite = dataset_suite(tmp_path, server.base_url, 200)
    env = _env(tmp_path, bad)
    for extra in ([], ["--cases", "c1,c2"]):  # streamed, and loaded first
        proc = subprocess.run(
            [sys.executable, "-m", "evalbook", "run", str(suite), "--json", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert proc.returncode == 1, (extra, proc.stdout, proc.stderr)
        assert "cannot open sqlite:///" in proc.stderr and "nothing was recorded" in proc.stderr
        assert "Traceback" not in proc.stderr and "started" not in proc.stderr
        assert proc.stdout == ""  # no run record, no summary: nothing reported as done
    assert not (tmp_path / "a-file" / "evalbook.db").exists()
