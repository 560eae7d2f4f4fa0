"""Runs executed by the CLI hold a lease: a killed process's run shows as interrupted,
``evalbook resume`` continues it, ``evalbook runs cancel`` ends it, and a run still being
executed is neither resumed twice nor left running after a cancel."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.launch import prepare_run
from evalbook.executor.lease import RunBusyError, cancel_run, execute_held, owner_gone
from evalbook.storage import queue
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .test_cli import evalbook_cmd, only_run_id, start_run_until, write_suite


async def pending_run(store: Store) -> RunRecord:
    suite = load_suite_from_dict(
        {"id": "lease", "version": "1", "prompt": "{{ q }}", "cases": [{"vars": {"q": "x"}}]}
    )
    job = prepare_run(store, suite, model="mock:echo")
    await job.provider.aclose()
    return job.run


def stopped_mid_run(tmp_path: Path, srv: Any, n: int, sig: int) -> tuple[str, str]:
    """Start ``evalbook run`` of ``n`` cases, send ``sig`` half-way; (run id, its stderr)."""
    suite = write_suite(tmp_path / "suite.yaml", srv.base_url, n=n)
    proc = start_run_until(suite, srv, n // 3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 130, err
    return only_run_id(os.environ["EVALBOOK_DATABASE_URL"]), err


def recorded(db_url: str, run_id: str) -> tuple[RunRecord, int]:
    """The run as recorded and how many of its cases have a result."""
    store = Store.open(db_url)
    try:
        return store.get_run(run_id), len(store.result_statuses(run_id))
    finally:
        store.close()


def test_owner_gone_judges_only_this_machines_processes() -> None:
    import os
    import socket
    import subprocess
    import sys

    host = socket.gethostname()[:50]
    assert not owner_gone(f"cli:{host}:{os.getpid()}:abc")  # alive: this process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_gone(f"cli:{host}:{child.pid}:abc")  # exited
    assert not owner_gone(f"cli:elsewhere:{child.pid}:abc")  # another machine: the lease decides
    assert not owner_gone(f"worker-1:{child.pid}:abc")  # workers: the lease decides
    assert not owner_gone("cli:broken")


async def test_an_expired_lease_is_interrupted_and_can_be_taken(store: Store) -> None:
    run = await pending_run(store)
    assert queue.hold(store, run.id, "cli:elsewhere:1:a", lease_s=30)
    assert not queue.hold(store, run.id, "cli:elsewhere:2:b", lease_s=30)  # live: refused

    async def nothing() -> object:
        return store.get_run(run.id)

    with pytest.raises(RunBusyError, match=r"another process \(process 1 on elsewhere\)"):
        await execute_held(store, run.id, nothing)  # type: ignore[arg-type]
    assert queue.interrupted(store, [run.id]) == set()
    assert queue.hold(store, run.id, "cli:elsewhere:1:a", lease_s=0.05)  # renewal by its owner
    await asyncio.sleep(0.1)
    assert queue.interrupted(store, [run.id]) == {run.id}  # expired: its process is gone
    got = await execute_held(store, run.id, nothing)  # type: ignore[arg-type]
    assert got.id == run.id
    assert queue.lease_owner(store, run.id) is None  # released at the end


@pytest.mark.slow
def test_kill_9_then_cancel_keeps_what_was_recorded(tmp_path: Path, db_url: str) -> None:
    n = 120
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        run_id, _ = stopped_mid_run(tmp_path, srv, n, signal.SIGKILL)
        out = evalbook_cmd("runs", "cancel", run_id[:8], check=0).stdout
        assert "canceled" in out and "process was gone" in out
    run, kept = recorded(db_url, run_id)
    assert run.status is RunStatus.canceled and run.passed is False
    assert 0 < kept < n and run.counts.total == kept  # summarised from what it recorded
    assert run.stop_reason == "canceled after its process was gone"


@pytest.mark.slow
def test_a_live_run_is_not_resumed_twice_and_stops_on_cancel(tmp_path: Path, db_url: str) -> None:
    n = 2000  # 50 s at 4 in flight: far longer than the test takes to cancel it
    with run_test_server_in_thread(TestServerConfig(latency_ms=100)) as srv:
        suite = write_suite(tmp_path / "suite.yaml", srv.base_url, n=n)
        proc = start_run_until(suite, srv, 20)
        try:
            run_id = only_run_id(db_url)
            refused = evalbook_cmd("resume", run_id[:8], check=1)
            assert "being executed by another process" in refused.stderr
            assert f"process {proc.pid} on " in refused.stderr  # says which holds it
            assert "interrupted" not in evalbook_cmd("runs", "list", check=0).stdout
            asked = time.monotonic()
            out = evalbook_cmd("runs", "cancel", run_id[:8], check=0).stdout
            assert "cancel requested" in out
            _, err = proc.communicate(timeout=60)
            stopped = time.monotonic() - asked
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert stopped < 30, stopped  # the heartbeat delivers it within seconds
    run, kept = recorded(db_url, run_id)
    assert run.status is RunStatus.canceled, err
    assert 0 < kept < n and run.counts.total == kept


async def test_cancel_run_of_a_finished_run_changes_nothing(store: Store) -> None:
    run = await pending_run(store)
    run.status = RunStatus.completed
    store.update_run(run)
    assert (await cancel_run(store, run.id)).status is RunStatus.completed


@pytest.mark.slow
def test_sigterm_ends_the_run_canceled_and_resumable(tmp_path: Path, db_url: str) -> None:
    n = 120
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        run_id, err = stopped_mid_run(tmp_path, srv, n, signal.SIGTERM)
        run, kept = recorded(db_url, run_id)
        assert run.status is RunStatus.canceled and 0 < kept < n
        assert "Resume with evalbook resume" in err and run_id in err
        evalbook_cmd("resume", run_id, check=0)
    assert recorded(db_url, run_id)[0].counts.total == n
