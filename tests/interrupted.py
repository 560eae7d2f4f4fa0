"""A run whose process died: a real ``evalbook run`` killed with SIGKILL half-way, so the
run stays ``running`` under a lease whose owner no longer exists (the case that
``queue.interrupted`` and ``executor.lease.cancel_run`` exist for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread
from tests.cli.test_cli import INTERRUPTIBLE_EVALBOOK, write_suite


def killed_cli_run(tmp_path: Path, db_url: str, *, n: int = 60) -> tuple[str, int]:
    """Start ``evalbook run`` of ``n`` cases on ``db_url``, SIGKILL it once the model has
    answered a third of them; (the run's id, how many results it recorded)."""
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        suite = write_suite(tmp_path / "killed-suite.yaml", srv.base_url, n=n)
        env = {**os.environ, "EVALBOOK_DATABASE_URL": db_url}
        proc = subprocess.Popen(
            [sys.executable, "-c", INTERRUPTIBLE_EVALBOOK, "run", str(suite), "--concurrency", "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while srv.requests < n // 3 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
    store = Store.open(db_url)
    try:
        [run] = [r for r in store.list_runs() if r.suite_id == "cli-suite"]
        return run.id, len(store.result_statuses(run.id))
    finally:
        store.close()
