"""A failure is never reported as success: a run with no scored case, or with errored
cases beyond its allowed rate, or whose endpoint cannot be reached, does not pass; retries
are bounded by time, not by a small count; the summary says which cases errored and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evalbook
from evalbook.core.run import RunStatus
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from ..server.live import closed_port
from .helpers import server_model, yes_no_suite


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: these are rules of the executor, not of the database."""
    opened = Store.open(f"sqlite:///{tmp_path / 'honest.db'}")
    yield opened
    opened.close()


def _suite(base_url: str, prompt: str, cases: list[dict[str, Any]], **extra: Any) -> Any:
    return load_suite_from_dict(
        {
            "id": "honest",
            "threshold": 0,
            "model": server_model(base_url),
            "prompt": prompt,
            "scorers": [{"equals": "yes"}],
            "cases": cases,
            **extra,
        }
    )


async def test_an_unreachable_endpoint_stops_the_run_failed_and_resumable(store: Store) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/v1"
    suite = yes_no_suite(40, url, model=server_model(url)).model_copy(update={"threshold": 0})
    run = await evalbook.arun(suite, store=store, concurrency=4)
    assert run.status is RunStatus.failed and run.passed is False
    # One line naming the URL and the cause, not a dump per case.
    assert run.stop_reason is not None and "\n" not in run.stop_reason
    assert f"cannot reach {url}" in run.stop_reason
    assert "connection refused" in run.stop_reason
    # It stopped early: a few attempts, not forty cases' worth of retries.
    recorded = list(store.iter_results(run.id))
    assert len(recorded) <= 8
    assert sum(len(r.attempts) for r in recorded) <= 12
    assert all("ClientConnectorError" not in (r.error_message or "") for r in recorded)
    # Once the endpoint answers, the same run resumes and completes.
    with run_test_server_in_thread(TestServerConfig(), port=port):
        resumed = await evalbook.aresume(run.id, store=store)
    assert resumed.status is RunStatus.completed and resumed.counts.total == 40
    assert resumed.counts.errored == 0 and resumed.passed is True


async def test_a_run_with_no_scored_case_never_passes(store: Store, server: Any) -> None:
    suite = _suite(server.base_url, "[[fail=400:9]] {{ q }}", [{"id": "a", "vars": {"q": 1}}])
    run = await evalbook.arun(suite, store=store, max_error_rate=100)
    assert run.status is RunStatus.completed and run.score is None
    assert run.passed is False
    assert run.metrics["failing"] == ["no case was scored (1 of 1 errored)"]


async def test_errored_cases_count_against_the_run(store: Store, server: Any) -> None:
    cases = [
        {"id": "ok-1", "vars": {"q": "[[answer=yes]] 1"}},
        {"id": "ok-2", "vars": {"q": "[[answer=no]] 2"}},
        {"id": "refused", "vars": {"q": "[[fail=400:9]] 3"}},
    ]
    suite = _suite(server.base_url, "{{ q }}", cases)
    run = await evalbook.arun(suite, store=store)
    # The score is over the scored cases only; the errored one is counted beside it.
    assert run.score == pytest.approx(0.5) and run.metrics["scored"] == 2
    assert run.counts.errored == 1 and run.passed is False
    assert run.metrics["failing"] == [
        "1 of 3 cases errored (33.3%), over the allowed 0% (--max-error-rate)"
    ]
    [error] = run.metrics["errors"]
    assert (error["case_id"], error["kind"], error["type"]) == (
        "refused",
        "call",
        "FatalProviderError",
    )
    assert "400" in error["message"]
    allowed = await evalbook.arun(suite, store=store, max_error_rate=40)
    assert allowed.passed is True and allowed.metrics["failing"] == []


async def test_a_render_error_fails_the_run_whatever_the_allowed_rate(
    store: Store, server: Any
) -> None:
    cases = [{"id": "ok", "vars": {"q": "[[answer=yes]]"}}, {"id": "typo", "vars": {"qq": 1}}]
    run = await evalbook.arun(
        _suite(server.base_url, "{{ q }}", cases), store=store, max_error_rate=100
    )
    assert run.score == 1.0 and run.passed is False
    assert run.metrics["failing"] == ["1 case(s) failed to render (a defect of the suite)"]
    assert run.metrics["errors"][0]["kind"] == "render"
    assert run.metrics["errors"][0]["case_id"] == "typo"


async def test_retryable_faults_cost_time_not_cases(store: Store) -> None:
    """Half of all requests fail (429 with Retry-After, or 500), independently each time:
    six attempts would lose about 5 of these 300 cases; a time budget loses none."""
    config = TestServerConfig(
        fail_rate=0.5,
        fault_kinds=("429", "500"),
        max_failures_per_key=10_000,
        retry_after=1,
        seed=7,
    )
    with run_test_server_in_thread(config) as srv:
        suite = yes_no_suite(300, srv.base_url)
        run = await evalbook.arun(suite, store=store, concurrency=16)
        faults = sum(srv.faults.values())
    assert run.counts.errored == 0, run.metrics["errors"]
    assert run.counts.total == 300 and faults > 250
    retried = [r for r in store.iter_results(run.id) if len(r.attempts) > 6]
    assert retried, "some case needed more than six attempts"


async def test_the_retry_budget_ends_a_case_that_never_succeeds(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_RETRY_SCALE", "0.05")  # real (short) waits: time passes
    suite = _suite(server.base_url, "[[fail=503:100000]] {{ q }}", [{"id": "a", "vars": {"q": 1}}])
    run = await evalbook.arun(suite, store=store, retry_budget_s=0.3)
    [result] = store.iter_results(run.id)
    assert result.status.value == "error" and len(result.attempts) > 1
    assert "pass the retry budget of 0.3 s (--retry-budget)" in (result.error_message or "")
