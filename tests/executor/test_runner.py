"""The executor over real HTTP to the local test server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.core.identity import result_id, stable_uuid
from evalbook.core.run import RunStatus
from evalbook.errors import ConfigError, TemplateError, UnknownNameError
from evalbook.providers import PROVIDERS
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .helpers import expected_yes, server_key, server_model, yes_no_suite


async def test_run_records_every_case(store: Store, server: Any) -> None:
    suite = yes_no_suite(30, server.base_url)
    run = await evalbook.arun(
        suite,
        store=store,
        concurrency=5,
        alias="cand",
        label="l1",
        tags=["nightly"],
        experiment_id="exp-1",
    )
    assert run.status is RunStatus.completed
    assert run.counts.total == 30 and run.counts.passed == 10 and run.counts.failed == 20
    assert run.score == pytest.approx(10 / 30)
    assert run.passed is False  # threshold 0.5
    assert run.error_rate == 0
    assert run.token_count == run.input_token_count + run.output_token_count > 0
    assert run.cost is None  # no price known for the test model: unknown, not 0
    assert run.metrics["sections"]["first-half"] == pytest.approx(5 / 15)
    assert run.metrics["latency_ms"]["p50"] is not None

    again = store.get_run(run.id)
    assert again.alias == "cand" and again.label == "l1" and again.experiment_id == "exp-1"
    assert "nightly" in again.tags
    assert again.suite_hash == suite.hash and again.prompt_version == 1
    results = list(store.iter_results(run.id))
    assert [r.case_id for r in results] == [c.id for c in suite.cases]
    first = results[0]
    assert first.output == "yes" and first.passed and first.served_model == "test-model"
    assert first.system_fingerprint == "fp_evalbook_test"
    assert first.attempts[0].outcome == "ok"
    assert server.requests == 30
    names = {m["name"] for m in store.get_metrics(run.id)}
    assert {"score", "pass_rate", "p50", "first-half", "equals"} <= names


async def test_served_model_is_kept_apart_from_the_requested_name(store: Store) -> None:
    with run_test_server_in_thread(TestServerConfig(served_model="test-model-2025-01-01")) as srv:
        run = await evalbook.arun(yes_no_suite(2, srv.base_url), store=store)
    assert run.model["name"] == "test-model"
    result = next(store.iter_results(run.id))
    assert result.served_model == "test-model-2025-01-01"


@pytest.mark.slow
@pytest.mark.parametrize("fail_rate", [0.05, 0.30])
async def test_injected_failures_every_case_once_and_exact_score(
    store: Store, fail_rate: float
) -> None:
    n = 1000
    config = TestServerConfig(
        fail_rate=fail_rate,
        max_failures_per_key=3,
        seed=7,
        fault_kinds=("429", "500", "503", "reset", "malformed"),
    )
    with run_test_server_in_thread(config) as srv:
        run = await evalbook.arun(
            yes_no_suite(n, srv.base_url), store=store, concurrency=20, max_attempts=5
        )
        stats = srv.stats()
    assert run.status is RunStatus.completed
    assert run.counts.total == n and run.counts.errored == 0
    assert run.counts.passed == expected_yes(n)
    assert run.score == pytest.approx(expected_yes(n) / n)
    results = list(store.iter_results(run.id))
    assert len(results) == n
    assert len({(r.case_id, r.epoch) for r in results}) == n
    assert sum(stats["faults"].values()) > 0
    retried = [r for r in results if len(r.attempts) > 1]
    assert retried, "some items must have needed retries"
    for r in retried:
        assert [a.outcome for a in r.attempts][-1] == "ok"
        assert all(a.outcome in ("rate_limit", "transient") for a in r.attempts[:-1])


async def test_rate_limit_honours_retry_after_and_logs_attempts(store: Store) -> None:
    with run_test_server_in_thread(TestServerConfig(retry_after=7)) as srv:
        suite = yes_no_suite(1, srv.base_url, prompt="[[fail=429:2]] [[answer=yes]] {{ i }}")
        run = await evalbook.arun(suite, store=store)
    result = next(store.iter_results(run.id))
    assert [a.outcome for a in result.attempts] == ["rate_limit", "rate_limit", "ok"]
    assert result.attempts[0].status_code == 429
    assert result.attempts[0].retry_after == 7
    assert result.passed


async def test_fatal_error_is_not_retried(store: Store, server: Any) -> None:
    suite = yes_no_suite(1, server.base_url, prompt="[[fail=400:9]] {{ i }}")
    run = await evalbook.arun(suite, store=store)
    result = next(store.iter_results(run.id))
    assert result.status.value == "error"
    assert len(result.attempts) == 1 and result.attempts[0].outcome == "fatal"
    assert result.error_type == "FatalProviderError"
    assert run.counts.errored == 1 and run.error_rate == 100.0
    assert server.requests == 1


async def test_transient_errors_exhaust_attempts_into_an_error_result(
    store: Store, server: Any
) -> None:
    suite = yes_no_suite(1, server.base_url, prompt="[[fail=503:99]] {{ i }}")
    run = await evalbook.arun(suite, store=store, max_attempts=3)
    result = next(store.iter_results(run.id))
    assert result.status.value == "error" and len(result.attempts) == 3
    assert "gave up after 3 attempt(s), the most allowed" in (result.error_message or "")
    assert run.score is None and run.passed is False  # no case scored: never a pass


async def test_bad_api_key_fails_fast(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_KEY", "wrong-key")
    with run_test_server_in_thread(TestServerConfig(required_api_key="right-key")) as srv:
        suite = yes_no_suite(
            200, srv.base_url, model=server_model(srv.base_url, api_key_env="TEST_KEY")
        )
        run = await evalbook.arun(suite, store=store, concurrency=4)
        requests = srv.requests
    assert run.status is RunStatus.failed
    assert "authentication failed" in (run.stop_reason or "")
    assert requests <= 8, f"a bad key must not be tried {requests} times"
    assert "wrong-key" not in (run.stop_reason or "")


async def test_cache_answers_a_rerun_without_requests(store: Store, server: Any) -> None:
    suite = yes_no_suite(20, server.base_url)
    first = await evalbook.arun(suite, store=store)
    assert server.requests == 20
    second = await evalbook.arun(suite, store=store)
    assert server.requests == 20
    assert second.counts.cached == 20 and second.score == first.score
    assert second.metrics["latency_ms"]["p50"] is None  # cached results are not latencies
    assert (second.token_count == 0 and second.cost is None) or second.cost == 0
    assert all(r.cached for r in store.iter_results(second.id))
    await evalbook.arun(suite, store=store, use_cache=False)
    assert server.requests == 40


async def test_cache_is_scoped_per_prompt(store: Store, server: Any) -> None:
    a = yes_no_suite(5, server.base_url)
    b = load_suite_from_dict(
        {
            **a.model_dump(mode="json"),
            "prompt": {"name": "other", "template": "[[answer={{ answer }}]] question {{ i }}"},
        }
    )
    await evalbook.arun(a, store=store)
    await evalbook.arun(b, store=store)
    assert server.requests == 10


async def test_errors_are_never_cached(store: Store, server: Any) -> None:
    suite = yes_no_suite(1, server.base_url, prompt="[[fail=500:2]] [[answer=yes]] {{ i }}")
    first = await evalbook.arun(suite, store=store, max_attempts=2)
    assert first.counts.errored == 1
    second = await evalbook.arun(suite, store=store, max_attempts=2)
    assert second.counts.passed == 1 and second.counts.cached == 0


async def test_identical_items_single_flight(store: Store, server: Any) -> None:
    cases = [{"id": f"dup-{i}", "vars": {"q": "same"}} for i in range(10)]
    suite = load_suite_from_dict(
        {
            "id": "dups",
            "name": "dups",
            "model": server_model(server.base_url),
            "prompt": "{{ q }}",
            "cases": cases,
        }
    )
    run = await evalbook.arun(suite, store=store, concurrency=10)
    assert server.requests == 1
    assert run.counts.cached == 9 and run.counts.passed == 10


async def test_epochs_share_answers_at_temperature_zero_only(store: Store, server: Any) -> None:
    suite = yes_no_suite(4, server.base_url)
    run = await evalbook.arun(suite, store=store, epochs=3)
    assert run.counts.total == 12 and server.requests == 4
    hot = yes_no_suite(
        4, server.base_url, model=server_model(server.base_url, temperature=0.7), suite_id="hot"
    )
    await evalbook.arun(hot, store=store, epochs=3)
    assert server.requests == 4 + 12
    epochs = Counter(r.epoch for r in store.iter_results(run.id))
    assert epochs == {0: 4, 1: 4, 2: 4}


async def test_missing_variable_in_one_case_fails_that_case(store: Store, server: Any) -> None:
    suite = load_suite_from_dict(
        {
            "id": "vars",
            "name": "vars",
            "model": server_model(server.base_url),
            "prompt": "{{ question }}",
            "cases": [
                {"id": "ok", "vars": {"question": "hi"}},
                {"id": "bad", "vars": {"questoin": "hi"}},
            ],
        }
    )
    run = await evalbook.arun(suite, store=store)
    bad = store.get_result(run.id, "bad")
    assert bad.status.value == "error" and bad.error_type == "TemplateError"
    assert "'bad'" in (bad.error_message or "") and "question" in (bad.error_message or "")
    assert store.get_result(run.id, "ok").passed
    assert server.requests == 1


async def test_variable_missing_everywhere_fails_up_front(store: Store, server: Any) -> None:
    suite = load_suite_from_dict(
        {
            "id": "vars",
            "name": "vars",
            "model": server_model(server.base_url),
            "prompt": "{{ question }}",
            "cases": [{"id": "a", "vars": {"q": 1}}, {"id": "b", "vars": {"q": 2}}],
        }
    )
    with pytest.raises(TemplateError, match="question"):
        await evalbook.arun(suite, store=store)
    assert store.list_runs() == []
    assert server.requests == 0


async def test_render_assertions_run_before_any_call(store: Store, server: Any) -> None:
    suite = load_suite_from_dict(
        {
            "id": "render",
            "name": "render",
            "model": server_model(server.base_url),
            "prompt": "{{ q }}",
            "render_assertions": [{"not-contains": "SECRET"}],
            "cases": [
                {"id": "clean", "vars": {"q": "hello"}},
                {"id": "leak", "vars": {"q": "the SECRET plan"}},
            ],
        }
    )
    run = await evalbook.arun(suite, store=store)
    leak = store.get_result(run.id, "leak")
    assert leak.status.value == "failed" and leak.failure_reason is not None
    assert leak.failure_reason.value == "render"
    assert server.requests == 1


async def test_case_subset_and_unknown_case_id(store: Store, server: Any) -> None:
    suite = yes_no_suite(10, server.base_url)
    run = await evalbook.arun(suite, store=store, cases=["case-00001", "case-00003"])
    assert run.counts.total == 2 and server.requests == 2
    with pytest.raises(ConfigError, match="case-99999"):
        await evalbook.arun(suite, store=store, cases=["case-99999"])


async def test_unknown_provider_suggests(store: Store) -> None:
    suite = yes_no_suite(1, "http://127.0.0.1:1/v1", model={"provider": "opneai", "name": "x"})
    with pytest.raises(UnknownNameError, match="Did you mean 'openai'"):
        await evalbook.arun(suite, store=store)


async def test_prompt_versions_are_immutable(store: Store, server: Any) -> None:
    suite = yes_no_suite(1, server.base_url)
    await evalbook.arun(suite, store=store)
    edited = yes_no_suite(1, server.base_url, prompt="[[answer=yes]] changed {{ i }}")
    with pytest.raises(evalbook.errors.UserError, match="immutable"):
        await evalbook.arun(edited, store=store)


async def test_max_cost_stops_launching(store: Store, server: Any) -> None:
    # 1 $ per token in and out: each call costs exactly (prompt words + answer words) $.
    price = {"input_per_mtok": 1_000_000, "output_per_mtok": 1_000_000}
    suite = yes_no_suite(
        50, server.base_url, model=server_model(server.base_url, price=price, max_tokens=1)
    )
    run = await evalbook.arun(suite, store=store, concurrency=1, max_cost=20)
    assert run.status is RunStatus.canceled
    assert run.stop_reason and "max-cost" in run.stop_reason
    assert run.cost is not None and run.cost <= 20
    assert 0 < run.counts.total < 50 or len(list(store.iter_results(run.id))) < 50


async def test_max_cost_needs_a_price(store: Store, server: Any) -> None:
    with pytest.raises(ConfigError, match="price"):
        await evalbook.arun(yes_no_suite(2, server.base_url), store=store, max_cost=1.0)


async def test_cancel_keeps_finished_results_and_resume_completes(store: Store) -> None:
    with run_test_server_in_thread(TestServerConfig(latency_ms=20)) as srv:
        suite = yes_no_suite(200, srv.base_url)
        task = asyncio.create_task(evalbook.arun(suite, store=store, concurrency=4))
        while srv.requests < 40:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [run] = store.list_runs()
        assert run.status is RunStatus.canceled
        kept = store.result_statuses(run.id)
        assert 30 <= len(kept) < 200
        finished = [server_key(r.prompt or "") for r in store.iter_results(run.id)]
        resumed = await evalbook.aresume(run.id, store=store)
        after = srv.stats()["by_key"]
    assert resumed.id == run.id and resumed.status is RunStatus.completed
    assert resumed.counts.total == 200 and resumed.counts.passed == expected_yes(200)
    assert len(store.result_statuses(run.id)) == 200
    # Only the items in flight at the cancel (at most `concurrency`) are asked twice.
    twice = [k for k, n in after.items() if n > 1]
    assert len(twice) <= 4
    assert len(after) == 200
    assert all(after[k] == 1 for k in finished), "a finished case was requested again"


_RESULT_ID = sa.text("SELECT id FROM results WHERE run_id = :run AND case_id = :case")


async def test_resume_asks_errored_items_again_under_the_ids_they_were_recorded_with(
    store: Store, server: Any
) -> None:
    """A run recorded by a release before ordered result ids (each id the uuid5 of its
    item) keeps them: the errored items a resume asks again replace their rows, under
    the same ids; the items never recorded get ordered ids."""
    prompt = "[[fail=500:1]] [[answer={{ answer }}]] question {{ i }}"  # fails once per case
    suite = yes_no_suite(12, server.base_url, prompt=prompt)
    run = await evalbook.arun(suite, store=store, max_attempts=1, max_error_rate=1.0)
    assert run.counts.errored == 12
    recorded = [r.case_id for r in store.iter_results(run.id)]
    old = {case_id: stable_uuid(run.id, case_id, "0") for case_id in recorded[:8]}
    with store.write() as conn:  # as that release left it: 8 recorded, 4 never were
        for case_id in recorded:
            where = {"run": run.id, "case": case_id}
            stored = conn.execute(_RESULT_ID, where).scalar_one()
            if case_id in old:
                moved = {"old": stored, "new": old[case_id]}
                conn.execute(sa.text("UPDATE results SET id = :new WHERE id = :old"), moved)
                conn.execute(
                    sa.text("UPDATE scores SET result_id = :new WHERE result_id = :old"), moved
                )
            else:
                conn.execute(sa.text("DELETE FROM scores WHERE result_id = :id"), {"id": stored})
                conn.execute(sa.text("DELETE FROM results WHERE id = :id"), {"id": stored})
    resumed = await evalbook.aresume(run.id, store=store)
    assert resumed.status is RunStatus.completed and resumed.counts.errored == 0
    assert resumed.counts.total == 12 and resumed.counts.passed == expected_yes(12)
    ids = {r.case_id: r.id for r in store.iter_results(run.id)}
    assert len(ids) == 12
    assert {c: ids[c] for c in old} == old
    seq = {c.id: i for i, c in enumerate(suite.cases)}
    assert {c: ids[c] for c in recorded[8:]} == {
        c: result_id(run.id, seq[c], c, 0) for c in recorded[8:]
    }


_CTRL_C_IN_A_WORKER = """
import asyncio, sys
import evalbook
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

calls = 0

@evalbook.provider("interrupted-test")
async def interrupted(request):
    global calls
    calls += 1
    if calls == 20:
        raise KeyboardInterrupt  # as the signal handler raises it, inside a worker
    await asyncio.sleep(0.001)
    return "ok"

suite = load_suite_from_dict({
    "id": "ctrl-c", "model": {"provider": "interrupted-test", "name": "m"},
    "prompt": "{{ x }}", "cases": [{"id": str(j), "vars": {"x": str(j)}} for j in range(60)],
})
try:
    asyncio.run(evalbook.arun(suite, store=Store.open(sys.argv[1]), concurrency=4))
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_inside_a_running_task_ends_the_run_canceled(store: Store, db_url: str) -> None:
    """Ctrl-C can land while one of the run's own tasks runs: the task group then re-raises
    KeyboardInterrupt, not a cancellation. The run is ``canceled`` and resumable (once its
    process is gone) all the same, never ``failed``. In a process of its own: what
    asyncio.run leaves behind after a KeyboardInterrupt is that process's to drop."""
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_IN_A_WORKER, db_url], capture_output=True, text=True
    )
    assert done.returncode == 130, done.stderr
    [run] = store.list_runs()
    assert run.status is RunStatus.canceled, run.stop_reason
    assert run.stop_reason == "canceled by the user"
    assert 0 < len(store.result_statuses(run.id)) == run.counts.total < 60


async def test_connections_per_endpoint_are_shared_by_runs(store: Store) -> None:
    in_flight = 0
    peak = 0

    @evalbook.provider("counting-test", replace=True)
    async def counting(request: evalbook.GenerateRequest) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return "ok"

    model = {"provider": "counting-test", "name": "m", "max_connections": 3}
    suites = [
        load_suite_from_dict(
            {
                "id": f"s{i}",
                "name": "s",
                "model": model,
                "prompt": "{{ x }}",
                "cases": [{"id": str(j), "vars": {"x": f"{i}-{j}"}} for j in range(20)],
            }
        )
        for i in range(2)
    ]
    try:
        runs = await asyncio.gather(
            *(evalbook.arun(s, store=store, concurrency=10) for s in suites)
        )
    finally:
        PROVIDERS.unregister("counting-test")  # the docs test lists registered providers
    assert all(r.counts.passed == 20 for r in runs)
    assert peak == 3


async def test_concurrency_asked_is_concurrency_sent(store: Store) -> None:
    """With no max_connections in the model config, the endpoint takes as many requests at
    once as the run keeps in flight (it used to stop at 16 without a word); a config that
    sets one is obeyed; the embedded model stays at one."""
    with run_test_server_in_thread(TestServerConfig(latency_ms=150)) as srv:
        suite = yes_no_suite(120, srv.base_url, prompt="[[answer={{ answer }}]] wide {{ i }}")
        run = await evalbook.arun(suite, store=store, concurrency=40, use_cache=False)
        assert run.status is RunStatus.completed
        assert srv.max_in_flight >= 30, srv.max_in_flight
        srv.reset()
        capped = yes_no_suite(
            60, srv.base_url, model=server_model(srv.base_url, max_connections=5), suite_id="cap"
        )
        await evalbook.arun(capped, store=store, concurrency=40, use_cache=False)
        assert srv.max_in_flight <= 5
    from evalbook.core.model_config import ModelConfig
    from evalbook.providers import create_provider

    local = create_provider(ModelConfig(provider="local", name="smollm2-135m"))
    local.run_concurrency = 8
    assert local.max_connections == 1


async def test_calls_take_a_limiter_slot_only_when_a_rate_is_limited(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process limits with only ``max_connections`` (the endpoint's semaphore) skip the
    per-call slot, which would do nothing; an ``rpm`` still takes one per call."""
    from evalbook.executor.fleet_limits import LocalLimits

    slots: list[int] = []
    taken = LocalLimits.slot

    def counting(self: LocalLimits, *args: Any) -> Any:
        slots.append(1)
        return taken(self, *args)

    monkeypatch.delenv("EVALBOOK_REDIS_URL", raising=False)
    monkeypatch.setattr(LocalLimits, "slot", counting)
    capped = server_model(server.base_url, max_connections=4)
    suite = yes_no_suite(12, server.base_url, model=capped, suite_id="capped")
    run = await evalbook.arun(suite, store=store, concurrency=8, use_cache=False)
    assert run.counts.total == 12 and run.counts.errored == 0 and slots == []
    assert server.max_in_flight <= 4
    paced = server_model(server.base_url, max_connections=4, rpm=6000)
    suite = yes_no_suite(12, server.base_url, model=paced, suite_id="paced")
    run = await evalbook.arun(suite, store=store, concurrency=8, use_cache=False)
    assert run.counts.total == 12 and run.counts.errored == 0 and len(slots) == 12
