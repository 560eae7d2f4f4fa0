"""A run is held by exactly one executor at a time, even when its result writes stall for
longer than its lease: the pool that holds it never claims it a second time."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from evalbook.core.result import Result
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite
from .helpers import queued_run, result_rows, running_pool, wait_for


class StallingStore(Store):
    """The real store, whose first result write waits ``stall_s`` first (a slow disk, a
    database under load)."""

    stall_s = 5.0
    stalled = False

    def save_results(
        self, results: Sequence[tuple[Result, int]], cache: Sequence[dict[str, Any]] = ()
    ) -> None:
        if results and not self.stalled:
            self.stalled = True
            time.sleep(self.stall_s)
        super().save_results(results, cache)


@pytest.fixture
def stalling(db_url: str) -> Iterator[StallingStore]:
    store = StallingStore.open(db_url)
    yield store
    store.close()


@pytest.mark.slow
async def test_a_stalled_write_longer_than_the_lease_asks_no_case_twice(
    stalling: StallingStore, server: Any
) -> None:
    suite = yes_no_suite(
        300, server.base_url, prompt="[[latency=5]][[answer={{ answer }}]] q{{ i }}"
    )
    run_id = queued_run(stalling, suite, concurrency=8, use_cache=False)
    # A 3 s lease, renewed every second: the stall outlasts it, and a pause of the whole
    # process stays inside its 2 s of slack. (Full garbage collections paused this test
    # process for up to 0.55 s in a run of tests/executor and tests/worker; with a 1 s
    # lease renewed every 0.33 s, one longer pause on CI lost the lease — rightly — and
    # the other pool asked a case in flight again.)
    async with (
        running_pool(stalling, max_runs=2, lease_s=3.0) as pool,
        running_pool(stalling, max_runs=2, lease_s=3.0) as other,
    ):
        await wait_for(lambda: stalling.get_run(run_id).status.finished, timeout=120)
        assert len(pool.executing) + len(other.executing) <= 1
    assert stalling.stalled
    rows = result_rows(stalling, run_id)
    assert len(rows) == len(set(rows)) == 300
    assert server.requests == 300  # no case was asked twice
