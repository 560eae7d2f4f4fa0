"""Re-scoring a finished run with new scorers, on SQLite and PostgreSQL: no model call, a
new linked run, the source untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import evalbook
from evalbook.core.result import Result, ScoreRecord
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import ScorerSpec, Suite
from evalbook.errors import ConfigError, UnknownNameError, UserError
from evalbook.executor.events import Event, ItemDone
from evalbook.executor.launch import load_for_resume, prepare_run
from evalbook.executor.rescore import execute_rescore, prepare_rescore, rescore
from evalbook.scorers.registry import parse_scorer_spec
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from . import rescore_fixtures
from .helpers import yes_no_suite

FIX = "tests.executor.rescore_fixtures"
JUDGES = "python:tests.scorers.judge_fixtures"


def _suite(scorers: list[Any] | None = None, n_extra: int = 0) -> Suite:
    """c0 polite Paris, c1 curt Lyon, c2 errors, c3 stopped by a render assertion."""
    cases: list[dict[str, Any]] = [
        {"id": "c0", "vars": {"question": "capital?", "reply": "Paris, please."}},
        {"id": "c1", "vars": {"question": "capital?", "reply": "Lyon."}},
        {"id": "c2", "vars": {"question": "capital?", "reply": "-", "boom": True}},
        {"id": "c3", "vars": {"question": "forbidden?", "reply": "never sent"}},
    ]
    cases += [
        {"id": f"x{i}", "vars": {"question": "capital?", "reply": f"Paris {i}"}}
        for i in range(n_extra)
    ]
    return load_suite_from_dict(
        {
            "id": "rescored",
            "name": "rescored",
            "threshold": 0.5,
            "model": {"provider": "python", "name": f"{FIX}:answer"},
            "prompt": "Answer: {{ question }}",
            "scorers": [{"contains": "Paris"}] if scorers is None else scorers,
            "render_assertions": [{"not-contains": "forbidden"}],
            "cases": cases,
        }
    )


def _specs(*raw: Any) -> list[ScorerSpec]:
    return [parse_scorer_spec(r) for r in raw]


def _results(store: Store, run_id: str) -> dict[str, Result]:
    return {r.case_id: r for r in store.iter_results(run_id)}


def _by_name(result: Result) -> dict[str, ScoreRecord]:
    return {s.name: s for s in result.scores}


async def _source(store: Store, suite: Suite | None = None, **kw: Any) -> RunRecord:
    run = await evalbook.arun(suite or _suite(), store=store, **kw)
    rescore_fixtures.CALLS.clear()
    return run


async def test_new_scores_no_model_call_source_unchanged(store: Store) -> None:
    source = await _source(store)
    before_run = store.get_run(source.id).model_dump()
    before = [r.model_dump() for r in store.iter_results(source.id)]
    assert source.counts.errored == 1 and source.counts.passed == 1

    new = await rescore(store, source.id[:8], _specs({"contains": "Lyon"}), tags=["re"])

    assert rescore_fixtures.CALLS == []  # the system under test was never asked
    assert new.rescored_from == source.id and new.id != source.id
    assert new.status is RunStatus.completed and new.alias is None and "re" in new.tags
    assert (new.prompt_hash, new.model_hash) == (source.prompt_hash, source.model_hash)
    assert new.suite_hash != source.suite_hash
    assert store.get_suite(new.suite_hash).scorers == _specs({"contains": "Lyon"})
    assert store.get_run(new.id).rescored_from == source.id

    old, got = _results(store, source.id), _results(store, new.id)
    assert [s.name for s in got["c0"].scores] == ["contains"]
    assert _by_name(got["c0"])["contains"].spec["value"] == "Lyon"
    assert (got["c0"].status, got["c1"].status) == ("failed", "passed")
    assert got["c1"].failure_reason is None and got["c0"].failure_reason == "assert"
    for case_id in ("c0", "c1"):
        for field in ("output", "latency_ms", "input_tokens", "cost_usd", "served_model"):
            assert getattr(got[case_id], field) == getattr(old[case_id], field), field
        assert got[case_id].attempts == old[case_id].attempts
    errored = got["c2"]
    assert errored.status == "error" and errored.error_type == old["c2"].error_type
    assert errored.error_message == old["c2"].error_message
    [unscored] = errored.scores
    assert unscored.name == "contains" and unscored.score is None
    assert "errored before scoring" in (unscored.error or "")
    render = got["c3"]
    assert render.failure_reason == "render" and render.output is None
    assert [s.type for s in render.scores] == ["not-contains"]
    assert new.counts.model_dump() == {
        "total": 4, "passed": 1, "failed": 2, "errored": 1, "cached": 0
    }  # fmt: skip
    # c0 0, c1 1, c3 (render assertion failed) 0; the errored c2 is in no mean.
    assert new.score == pytest.approx(1 / 3) and new.passed is False
    assert new.cost == source.cost  # the outputs' cost, repeated
    assert new.judge_cost is None  # no judge asked

    # The source run is exactly as it was.
    assert store.get_run(source.id).model_dump() == before_run
    assert [r.model_dump() for r in store.iter_results(source.id)] == before
    # compare pairs the two runs case by case.
    comparison = evalbook.compare(source.id, new.id, store=store)
    assert comparison.paired == 4 and not comparison.only_in_candidate


async def test_keep_folds_the_old_verdicts_with_the_new(store: Store) -> None:
    source = await _source(store)
    new = await rescore(store, source.id, _specs({"regex": "please"}), keep=True)
    got = _results(store, new.id)
    assert set(_by_name(got["c0"])) == {"contains", "regex"}
    assert got["c0"].passed and not got["c1"].passed
    assert set(_by_name(got["c2"])) == {"contains", "regex"}  # both unscored
    assert {s.type for s in store.get_suite(new.suite_hash).scorers} == {"contains", "regex"}
    assert set(new.metrics["scorers"]) == {"contains", "regex", "not-contains"}

    # A suite judged by the default scorer keeps it, spelled out in the new suite.
    bare = await _source(store, _suite([]))
    kept = await rescore(store, bare.id, _specs({"regex": "please"}), keep=True)
    assert set(_by_name(_results(store, kept.id)["c1"])) == {"non-empty", "regex"}
    assert [s.type for s in store.get_suite(kept.suite_hash).scorers] == ["non-empty", "regex"]

    runs = len(store.list_runs())
    with pytest.raises(ConfigError, match="already a scorer"):
        await rescore(store, source.id, _specs({"contains": "Paris"}), keep=True)
    assert len(store.list_runs()) == runs


async def test_a_judge_rescores(store: Store) -> None:
    source = await _source(store)
    judge = {"llm-judge": "Is it polite?", "judge": f"{JUDGES}:rubric_judge"}
    new = await rescore(store, source.id, _specs(judge))
    got = _results(store, new.id)
    polite, curt = _by_name(got["c0"])["llm-judge"], _by_name(got["c1"])["llm-judge"]
    assert polite.score == pytest.approx((8 - 1) / 9) and polite.kind == "llm_judge"
    assert curt.score == pytest.approx((3 - 1) / 9)
    assert polite.evidence.judge_model == f"{JUDGES}:rubric_judge"
    assert [r.passed for r in (got["c0"], got["c1"])] == [True, False]
    assert rescore_fixtures.CALLS == []


async def test_judge_usage_is_the_new_spend(store: Store, server: Any) -> None:
    replies = ['Paris [[answer={"rubric": 9, "reason": "right"}]]', "Lyon [[answer=GRADE: 2]]"]
    suite = load_suite_from_dict(
        {
            "id": "priced",
            "name": "priced",
            "model": {"provider": "python", "name": f"{FIX}:answer"},
            "prompt": "{{ reply }}",
            "cases": [{"id": f"c{i}", "vars": {"reply": r}} for i, r in enumerate(replies)],
        }
    )
    source = await _source(store, suite)
    judge = {
        "provider": "openai-compatible",
        "name": "judge-model",
        "base_url": server.base_url,
        "price": {"input_per_mtok": 1000.0, "output_per_mtok": 2000.0},
    }
    new = await rescore(store, source.id, _specs({"llm-judge": "Is it right?", "judge": judge}))
    records = [_by_name(r)["llm-judge"] for r in store.iter_results(new.id)]
    assert [r.label for r in records] == ["9", "2"]
    assert all(r.input_tokens and r.cost_usd for r in records)
    assert new.judge_cost == pytest.approx(sum(r.cost_usd or 0 for r in records))
    assert new.judge_token_count and new.judge_token_count > 0
    assert new.cost == source.cost == 0.0  # the system under test's cost, repeated
    assert server.requests == 2 and rescore_fixtures.CALLS == []

    # Keeping the judge's verdicts in a later re-score copies them without their spend:
    # that belongs to the run that paid for it.
    again = await rescore(store, new.id, _specs({"regex": "Paris"}), keep=True)
    assert again.rescored_from == new.id and server.requests == 2
    kept = [_by_name(r)["llm-judge"] for r in store.iter_results(again.id)]
    assert [r.label for r in kept] == ["9", "2"] and kept[0].input_tokens is None
    assert again.judge_token_count is None and again.judge_cost is None
    assert store.get_run(new.id).judge_cost == new.judge_cost


@pytest.mark.parametrize(
    ("raw", "error", "match"),
    [
        ("equals", ConfigError, "case 'c0' has no expected value, which scorer 'equals'"),
        ("contians", UnknownNameError, "contains"),
        ({"contains": "x", "bogus": 1}, ConfigError, "bogus"),
        ({"contains": "{{ unclosed"}, ConfigError, "value"),
    ],
)
async def test_bad_scorers_fail_before_anything_is_recorded(
    store: Store, raw: Any, error: type[Exception], match: str
) -> None:
    source = await _source(store)
    runs = len(store.list_runs())
    with pytest.raises(error, match=match):
        await rescore(store, source.id, _specs(raw))
    with pytest.raises(ConfigError, match="at least one scorer"):
        await rescore(store, source.id, [])
    assert len(store.list_runs()) == runs


async def test_an_unfinished_run_is_refused(store: Store) -> None:
    pending = prepare_run(store, _suite()).run
    with pytest.raises(UserError, match="is pending; only a finished run"):
        await rescore(store, pending.id, _specs("non-empty"))
    assert len(store.list_runs()) == 1


async def test_over_http_every_epoch_in_plan_order(store: Store, server: Any) -> None:
    suite = yes_no_suite(6, server.base_url)
    source = await evalbook.arun(suite, store=store, epochs=2)
    requests = server.requests
    assert source.counts.passed == 4

    new = await evalbook.arescore(source.id, [{"equals": "no"}], store=store, concurrency=3)
    assert server.requests == requests
    keys = [(r.case_id, r.epoch) for r in store.iter_results(new.id)]
    assert keys == [(r.case_id, r.epoch) for r in store.iter_results(source.id)]
    assert new.counts.passed == 8 and new.counts.total == 12
    assert new.metrics["latency_ms"] == source.metrics["latency_ms"]
    comparison = evalbook.compare(source.id, new.id, store=store)
    assert comparison.paired == 12 and len(comparison.fixes) == 8
    with pytest.raises(UserError, match="re-score the source again"):
        load_for_resume(store, new.id)


async def test_cancel_leaves_a_consistent_canceled_run(store: Store) -> None:
    source = await _source(store, _suite(n_extra=40))
    judge = {"llm-judge": "Is it polite?", "judge": f"python:{FIX}:slow_judge"}
    job = await asyncio.to_thread(
        prepare_rescore, store, source.id, _specs(judge), concurrency=2, use_cache=False
    )
    done = asyncio.Event()
    seen: list[Event] = []

    def on_event(event: Event) -> None:
        seen.append(event)
        if sum(isinstance(e, ItemDone) for e in seen) >= 4:
            done.set()

    task = asyncio.create_task(execute_rescore(store, job, on_event=on_event))
    await asyncio.wait_for(done.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    run = store.get_run(job.run.id)
    assert run.status is RunStatus.canceled and run.stop_reason == "canceled by the user"
    recorded = list(store.iter_results(run.id))
    assert 4 <= len(recorded) < 44 and run.counts.total == len(recorded)
    assert store.get_run(source.id).status is RunStatus.completed
    assert len(list(store.iter_results(source.id))) == 44
