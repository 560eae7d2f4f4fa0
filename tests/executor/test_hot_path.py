"""A result built without validation is the result validation would give; a provider's
values of the wrong type are still validated."""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evalbook.core.messages import Message
from evalbook.core.result import Attempt, Result, ResultStatus, ScoreRecord
from evalbook.executor.result_build import result_of
from evalbook.storage.store import Store


def _fields(**over: Any) -> dict[str, Any]:
    score = ScoreRecord.model_validate(
        {"scorer_id": "s1", "name": "equals", "type": "equals", "kind": "heuristic",
         "score": 1.0, "passed": True, "evidence": {"rationale": "equal"}}
    )  # fmt: skip
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    fields: dict[str, Any] = {
        "id": "r1", "run_id": "run", "case_id": "c1", "epoch": 0,
        "input": {"q": "2+2?", "n": 4}, "messages": [Message(role="user", content="2+2?")],
        "prompt": "2+2?", "expected": "4", "choices": ["3", "4"], "section": "math",
        "tags": ["t"], "cache_key": "k", "created_at": now,
        "status": ResultStatus.passed, "failure_reason": None, "error_type": None,
        "error_message": None, "output": "4", "output_structured": {"a": 1}, "scores": [score],
        "score": 1.0, "latency_ms": 12.5, "input_tokens": 3, "output_tokens": 1,
        "cost_usd": 0, "cached": False, "served_model": "m", "system_fingerprint": None,
        "attempts": [Attempt(number=1, started_at=now, duration_ms=12.5, outcome="ok")],
        "provider_evidence": None,
    }  # fmt: skip
    fields.update(over)
    return fields


def test_built_result_equals_the_validated_one() -> None:
    fields = _fields()
    expected = Result(**_fields())
    got = result_of(fields)
    assert got == expected
    assert got.model_dump_json() == expected.model_dump_json()
    assert type(got.cost_usd) is float


def test_fields_in_the_declared_order_give_the_same_result() -> None:
    fields = _fields()
    ordered = {name: fields[name] for name in Result.model_fields}
    assert list(ordered) != list(fields)  # the other test covers the other order
    expected = Result(**_fields())
    got = result_of(ordered)
    assert got == expected
    assert got.model_dump_json() == expected.model_dump_json()
    assert list(got.__dict__) == list(Result.model_fields)


def test_containers_of_the_case_are_not_shared() -> None:
    variables, tags = {"q": "x"}, ["t"]
    got = result_of(_fields(input=variables, tags=tags))
    got.input["q"] = "changed"
    got.tags.append("more")
    assert variables == {"q": "x"} and tags == ["t"]


@pytest.mark.parametrize(
    "over",
    [{"output": 42}, {"input_tokens": "many"}, {"output_structured": ["not", "a", "dict"]}],
)
def test_a_providers_wrong_types_are_still_refused(over: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        result_of(_fields(**over))


def test_a_providers_convertible_values_are_converted() -> None:
    got = result_of(_fields(input_tokens=True, served_model=None))
    assert got.input_tokens == 1 and type(got.input_tokens) is int


def test_the_heap_is_frozen_while_runs_execute_and_handed_back_after() -> None:
    import gc

    from evalbook.core.heap import RUN_GC_THRESHOLD, frozen_heap

    assert gc.get_freeze_count() == 0
    before = gc.get_threshold()
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        # the youngest generation is collected less often while runs execute
        assert gc.get_threshold() == (max(RUN_GC_THRESHOLD, before[0]), *before[1:])
        with frozen_heap():  # a second run of the same process
            pass
        assert gc.get_freeze_count() > 0  # the first is still running
        assert gc.get_threshold()[0] == max(RUN_GC_THRESHOLD, before[0])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_in_an_event_loop_the_heap_is_frozen_a_moment_after_the_run_starts() -> None:
    """The collection before the freeze walks the whole process: in a run it comes
    FREEZE_AFTER_S in, overlapping the first requests' wait, not before them; garbage
    that existed at the start is still collected, not frozen."""
    import asyncio
    import gc
    import weakref

    from evalbook.core.heap import FREEZE_AFTER_S, frozen_heap

    class Node:
        other: object = None

    async def run() -> None:
        garbage = Node()
        garbage.other = garbage  # a cycle only the collector frees
        dead = weakref.ref(garbage)
        del garbage
        with frozen_heap():
            assert gc.get_freeze_count() == 0  # nothing yet: the first request goes first
            await asyncio.sleep(FREEZE_AFTER_S * 4)
            assert gc.get_freeze_count() > 0
            assert dead() is None  # collected before the freeze
        assert gc.get_freeze_count() == 0
        with frozen_heap():  # a run that ends before the moment freezes nothing
            pass
        await asyncio.sleep(FREEZE_AFTER_S * 2)
        assert gc.get_freeze_count() == 0

    gc.collect()
    asyncio.run(run())


def test_the_heap_is_frozen_a_moment_after_the_runs_start_up_not_during_it() -> None:
    """A provider's start (an HTTP client's imports) can hold the loop past
    FREEZE_AFTER_S: the freeze is counted from its end, so its collection does not come
    between the start-up and the first request."""
    import asyncio
    import gc
    import time

    from evalbook.core.heap import FREEZE_AFTER_S, freeze_after, frozen_heap

    async def start() -> str:
        time.sleep(FREEZE_AFTER_S * 2)  # the loop held, as by a module's import
        return "started"

    async def run() -> None:
        with frozen_heap():
            assert await freeze_after(start()) == "started"
            for _ in range(3):  # turns of the loop: a timer already due would have run
                await asyncio.sleep(0)
            assert gc.get_freeze_count() == 0
            await asyncio.sleep(FREEZE_AFTER_S * 4)
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
        assert await freeze_after(start()) == "started"  # outside a block: just awaited

    gc.collect()
    asyncio.run(run())


def test_the_collection_before_the_freeze_walks_only_the_young_generations() -> None:
    """Every run of a process starts with that collection: a full one walked the whole
    heap again each time (tens of ms per run); the young generations hold what became
    garbage since the last collection."""
    import gc

    from evalbook.core.heap import FREEZE_COLLECTS, frozen_heap

    class Node:
        other: object = None

    generations: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generations.append(info["generation"])

    gc.collect()
    garbage = Node()
    garbage.other = garbage
    dead = weakref.ref(garbage)
    del garbage
    gc.callbacks.append(seen)
    try:
        with frozen_heap():
            assert gc.get_freeze_count() > 0
            assert dead() is None  # young garbage is still collected, not frozen
    finally:
        gc.callbacks.remove(seen)
    assert FREEZE_COLLECTS == 1 and generations and max(generations) == FREEZE_COLLECTS


def test_a_long_lived_process_sets_its_start_up_aside_and_its_runs_keep_it_so() -> None:
    """``evalbook serve``: what its start-up made is never walked by a full collection;
    what a run executed in it leaves is collected when the last run ends, and the rest
    set aside again."""
    import gc

    from evalbook.core.heap import frozen_heap, start_up_set_aside

    class Node:
        other: object = None

    gc.collect()
    assert gc.get_freeze_count() == 0
    with start_up_set_aside():
        assert gc.get_freeze_count() > 0
        with frozen_heap():
            garbage = Node()
            garbage.other = garbage
            dead = weakref.ref(garbage)
            del garbage
            gc.freeze()  # set aside with the run's heap, as a freeze later in the run would
            assert dead() is not None
        assert dead() is None  # collected when the run ended
        assert gc.get_freeze_count() > 0  # and the start-up set aside again
    assert gc.get_freeze_count() == 0


async def test_only_the_served_app_sets_its_start_up_aside(store: Store) -> None:
    import gc

    from evalbook.server import ServerSettings, create_app

    for long_lived in (False, True):
        app = create_app(
            ServerSettings(worker=False), store=store, services=(), long_lived=long_lived
        )
        async with app.router.lifespan_context(app):
            assert (gc.get_freeze_count() > 0) == long_lived
        assert gc.get_freeze_count() == 0


def test_evalbook_serve_sets_its_start_up_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import gc

    import uvicorn

    from evalbook.cli.app import main

    seen: list[bool] = []

    def run(app: Any, **_: Any) -> None:  # the app's life, without listening
        async def life() -> None:
            async with app.router.lifespan_context(app):
                seen.append(gc.get_freeze_count() > 0)

        asyncio.run(life())

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--no-worker", "--port", "1"])
    assert exited.value.code == 0 and seen == [True]
    assert gc.get_freeze_count() == 0


def test_the_collector_is_paused_while_a_suite_is_built_and_restored_after() -> None:
    import gc

    from evalbook.core.heap import collector_paused
    from evalbook.suites import load_suite_from_dict

    seen: list[bool] = []
    with collector_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    suite = load_suite_from_dict({"id": "s", "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}}]})
    assert len(suite.cases) == 1 and gc.isenabled()


def test_a_successful_attempt_is_recorded_as_validation_would_make_it() -> None:
    import pydantic_core

    from evalbook.executor.retry import _ok

    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for waited in (0.0, 1.5, 2):  # an int wait is stored as a float, as validated
        got = _ok(2, started, 12.25, waited)
        want = Attempt(
            number=2, started_at=started, duration_ms=12.25, outcome="ok", waited_ms=waited * 1000
        )
        assert got == want
        assert list(got.__dict__) == list(want.__dict__)
        assert pydantic_core.to_json(got) == pydantic_core.to_json(want)
        assert got.model_dump_json() == want.model_dump_json()
        assert type(got.waited_ms) is float and type(got.duration_ms) is float


def test_an_answers_context_is_the_dataclass_made_by_its_init() -> None:
    """``ScoreContext.of_answer`` sets every field the dataclass has (one added later
    and not set there fails here), equal to what ``__init__`` makes, and stays frozen."""
    import dataclasses

    from evalbook.core.suite import Case
    from evalbook.scorers.base import ScoreContext

    case = Case(id="c1", vars={"q": 1}, expected="4")
    args = ("4", case, {"a": 1}, "2+2?", 12.5, 0.25, None)
    fast = ScoreContext.of_answer(*args)
    slow = ScoreContext(
        output="4", case=case, output_structured={"a": 1}, prompt="2+2?", latency_ms=12.5,
        cost_usd=0.25, judge=None,
    )  # fmt: skip
    assert fast == slow and fast.expected == "4"
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(ScoreContext)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.output = "5"  # type: ignore[misc]
