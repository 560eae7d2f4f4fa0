"""``evalbook run`` prints the run's id when the run starts, before its first result, so
that an interrupted run can be found and resumed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .test_cli import write_suite


def test_the_run_id_comes_before_the_first_result(tmp_path: Path, db_url: str) -> None:
    n = 20
    with run_test_server_in_thread(TestServerConfig(latency_ms=150)) as srv:
        suite = write_suite(tmp_path / "suite.yaml", srv.base_url, n=n)
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalbook", "run", str(suite), "--concurrency", "1", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        first = proc.stderr.readline()
        answered = srv.requests
        store = Store.open(db_url)
        try:
            [run] = store.list_runs()
            recorded = len(store.result_statuses(run.id))
        finally:
            store.close()
        out, err = proc.communicate(timeout=120)
    assert first.startswith(f"run {run.id} started; if it is stopped, continue it with")
    assert first.rstrip().endswith(f"evalbook resume {run.id}")
    assert answered < n and recorded < n, (answered, recorded)
    assert proc.returncode in (0, 100), err
    assert json.loads(out)["id"] == run.id
