"""A suite's ``derived_metrics:`` travel with the run (its options) and are computed
where any run ends: a run, a resumed run, a re-scored run; the suite's hash is the one
without them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import evalbook
from evalbook.core.run import RunStatus
from evalbook.providers import PROVIDERS
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def _suite(n: int, provider: str = "mock", name: str = "echo", **extra: Any) -> Any:
    """``n`` cases; the echo answers the prompt, so `contains` passes on the even ones."""
    return load_suite_from_dict(
        {
            "id": "derived",
            "name": "Derived",
            "prompt": "say {{ word }}",
            "model": {"provider": provider, "name": name},
            "scorers": [{"contains": "even"}],
            "cases": [
                {"id": f"c{i}", "vars": {"word": "even" if i % 2 == 0 else "odd"}} for i in range(n)
            ],
            "derived_metrics": [
                {"name": "hit_rate", "expression": "contains / __count"},
                {"name": "misses", "expression": "__count - contains"},
            ],
            **extra,
        }
    )


async def test_a_run_records_its_derived_metrics_and_the_suite_hash_leaves_them_out(
    store: Store,
) -> None:
    suite = _suite(4)
    bare = suite.model_copy(update={"derived_metrics": []})
    assert suite.hash == bare.hash
    run = await evalbook.arun(suite, store=store)
    assert run.metrics["derived"] == {"hit_rate": 0.5, "misses": 2.0}
    stored = store.get_run(run.id)
    assert stored.metrics["derived"] == {"hit_rate": 0.5, "misses": 2.0}
    assert [m.name for m in stored.options.derived_metrics] == ["hit_rate", "misses"]
    # a run of a suite without them records options as before
    plain = await evalbook.arun(bare, store=store)
    assert "derived" not in plain.metrics
    assert "derived_metrics" not in store.get_run(plain.id).options.model_dump()


async def test_a_resumed_run_computes_them_over_every_result(store: Store) -> None:
    calls = 0

    @evalbook.provider("derived-slow-echo", replace=True)
    async def slow(request: evalbook.GenerateRequest) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return f"say {request.variables['word']}"

    task = asyncio.create_task(
        evalbook.arun(_suite(40, "derived-slow-echo", "m"), store=store, concurrency=2)
    )
    while calls < 10:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [run] = store.list_runs()
    assert run.status is RunStatus.canceled and "derived" not in run.metrics
    assert 5 <= len(store.result_statuses(run.id)) < 40
    try:
        resumed = await evalbook.aresume(run.id, store=store)
    finally:
        PROVIDERS.unregister("derived-slow-echo")  # the docs test lists registered providers
    assert resumed.status is RunStatus.completed
    assert resumed.metrics["derived"] == {"hit_rate": 0.5, "misses": 20.0}
    assert store.get_run(run.id).metrics["derived"] == resumed.metrics["derived"]


async def test_a_rescored_run_computes_them_from_its_new_scores(store: Store) -> None:
    run = await evalbook.arun(_suite(4), store=store)
    again = await evalbook.arescore(run.id, [{"contains": "say"}], store=store)
    # every answer holds "say": the new contains passes everywhere
    assert again.metrics["derived"] == {"hit_rate": 1.0, "misses": 0.0}
