"""``evalbook worker``: ``--concurrency`` runs at once; ``--max-runs N``/``--once`` exit after
N runs (cron, CI); log lines are whole when stderr is not a terminal."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from evalbook.cli.app import app
from evalbook.core.run import RunStatus
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite
from ..worker.helpers import queued_run

runner = CliRunner()


def test_max_runs_exits_after_that_many_runs(store: Store, server: Any) -> None:
    suite = yes_no_suite(6, server.base_url)
    ids = [queued_run(store, suite, use_cache=False) for _ in range(3)]
    result = runner.invoke(
        app, ["worker", "--max-runs", "2", "--concurrency", "1", "--poll-s", "0.05"]
    )
    assert result.exit_code == 0, result.output
    statuses = [store.get_run(run_id).status for run_id in ids]
    assert statuses.count(RunStatus.completed) == 2, statuses
    assert statuses.count(RunStatus.pending) == 1, statuses  # still queued for the next worker
    assert server.requests == 12

    # Not a terminal: one plain line per record, however long, never wrapped.
    lines = result.stderr.splitlines()
    start = next(line for line in lines if "executing up to 1 runs at once" in line)
    assert start.endswith(f"from {store.location}, 2 in all") and len(start) > 80
    finished = [line for line in lines if ": completed, score " in line]
    assert len(finished) == 2 and all(" INFO run " in line for line in finished)

    once = runner.invoke(app, ["worker", "--once", "--poll-s", "0.05"])
    assert once.exit_code == 0, once.output
    assert [store.get_run(run_id).status for run_id in ids] == [RunStatus.completed] * 3


def test_once_and_another_max_runs_conflict() -> None:
    result = runner.invoke(app, ["worker", "--once", "--max-runs", "3"])
    assert result.exit_code == 1
    assert "--once means --max-runs 1" in str(result.exception)
