"""The progress log across a crash: a case's ``item`` event is written only after its
result is committed, resuming a logged run gives the log the events of recorded cases
it lacks, once, and a worker's run is recorded finished only once every case's event is in
the log (a finished run is never resumed, so nothing would add them later)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

import evalbook
from evalbook.core.run import RunRecord
from evalbook.executor.events import Event, ItemDone
from evalbook.executor.progress_log import repair_log
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer import ResultWriter
from evalbook.storage import queue
from evalbook.storage.run_events import append_events, logged_items, read_events
from evalbook.storage.store import Store
from evalbook.worker import claimed, execute_claimed
from evalbook.worker.events import EventRecorder

from ..worker.helpers import queued_run
from .helpers import yes_no_suite


async def test_an_item_event_goes_out_only_after_its_result_is_recorded(
    store: Store, server: Any
) -> None:
    run = await evalbook.arun(yes_no_suite(6, server.base_url), store=store)
    results = list(store.iter_results(run.id))
    copies = [r.model_copy(update={"run_id": "r2", "id": f"x{i}"}) for i, r in enumerate(results)]
    seen: list[tuple[str, bool]] = []
    io = StoreIO()

    def on_written(event: Event) -> None:
        assert isinstance(event, ItemDone)
        recorded = {case for case, _ in store.result_statuses(event.run_id)}
        seen.append((event.case_id, event.case_id in recorded))

    other = store.get_run(run.id).model_copy(update={"id": "r2"})
    store.insert_run(other)
    async with ResultWriter(store, io, on_written=on_written, batch_size=2) as writer:
        for seq, result in enumerate(copies):
            writer.add(
                result, seq, None, ItemDone("r2", result.case_id, 0, "passed", 1, 1, False, None)
            )
            assert len(seen) <= seq  # never announced before the write
    io.close()
    assert seen == [(r.case_id, True) for r in copies]


async def test_resuming_a_logged_run_gives_its_log_the_missing_events_once(
    store: Store, server: Any
) -> None:
    run = await evalbook.arun(yes_no_suite(5, server.base_url), store=store)
    seq_of = {(r.case_id, r.epoch): i for i, r in enumerate(store.iter_results(run.id))}
    # A CLI run logs nothing: there is no log to repair.
    assert logged_items(store, run.id) is None
    assert repair_log(store, run.id, seq_of) == 0
    assert read_events(store, run.id) == []

    # A worker logged the start and two cases; the process died with three events buffered.
    first = sorted(seq_of, key=seq_of.get)[:2]  # type: ignore[arg-type]
    append_events(
        store,
        [(run.id, "status", {"status": "running"})]
        + [(run.id, "item", {"case_id": c, "epoch": e}) for c, e in first],
    )
    assert repair_log(store, run.id, seq_of) == 3
    events = read_events(store, run.id)
    items = [(e.data["case_id"], e.data["epoch"]) for e in events if e.kind == "item"]
    assert sorted(items) == sorted(seq_of)
    repaired = [e.data for e in events[3:]]
    assert [d["seq"] for d in repaired] == sorted(seq_of.values())[2:]
    assert all(d["status"] in ("passed", "failed") and d["output"] for d in repaired)
    assert repair_log(store, run.id, seq_of) == 0  # once


async def test_a_finished_run_has_every_case_s_event_in_its_log_when_its_end_is_recorded(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's event recorder writes in batches. With batches that never fill, every
    event is still buffered when the run ends; a server killed right after the run's end
    was recorded would have lost them all, and no resume would ever add them. What the log
    holds at the moment the end is committed is what such a crash leaves."""
    monkeypatch.setattr(
        claimed,
        "EventRecorder",
        functools.partial(EventRecorder, batch_size=1_000_000, interval_s=3600),
    )
    at_the_end: list[tuple[str, set[tuple[str, int]] | None, list[str]]] = []
    update_run = store.update_run

    def recording_update(run: RunRecord) -> None:
        update_run(run)
        if run.status.finished:
            kinds = [e.kind for e in read_events(store, run.id)]
            at_the_end.append((run.status.value, logged_items(store, run.id), kinds))

    monkeypatch.setattr(store, "update_run", recording_update)
    run_id = queued_run(store, yes_no_suite(12, server.base_url))
    assert queue.claim(store, "w1", lease_s=30) == run_id
    done = await execute_claimed(store, run_id, "w1", lease_s=30)
    assert done is not None and done.counts.total == 12
    cases = {(r.case_id, r.epoch) for r in store.iter_results(run_id)}
    [(status, logged, kinds)] = at_the_end
    assert status == "completed"
    assert logged == cases, "a case's event was still buffered when the run's end was recorded"
    assert kinds.count("item") == 12 and "finished" not in kinds  # the end follows its record
    final = [e.kind for e in read_events(store, run_id)]
    assert final.count("item") == 12 and final[-1] == "finished"


def test_an_item_event_holds_what_its_dataclass_would() -> None:
    """``item_done`` makes the frozen event without its ``__init__``: the same fields, in
    the same order, each what the result says (the output cut to its preview; the last
    failed attempt's message)."""
    import dataclasses
    from datetime import UTC, datetime

    from evalbook.core.result import Attempt, Result, ResultStatus
    from evalbook.executor.progress_log import PREVIEW_CHARS, item_done

    now = datetime.now(UTC)
    tries = [
        Attempt(number=1, started_at=now, duration_ms=1.0, outcome="rate_limit", message="429"),
        Attempt(number=2, started_at=now, duration_ms=1.0, outcome="transient", message="502"),
        Attempt(number=3, started_at=now, duration_ms=1.0, outcome="ok"),
    ]
    result = Result(
        id="r", run_id="run", case_id="c7", epoch=2, status=ResultStatus.failed, score=0.25,
        latency_ms=12.5, cached=True, error_message=None, output="x" * 300, attempts=tries,
        created_at=now,
    )  # fmt: skip
    event = item_done("run", result, 41)
    made = ItemDone(
        "run", "c7", 2, "failed", 0.25, 12.5, True, None,
        seq=41, output="x" * PREVIEW_CHARS, attempts=3, retry_error="502",
    )  # fmt: skip
    assert event == made and type(event.status) is str
    assert list(vars(event)) == [f.name for f in dataclasses.fields(ItemDone)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.score = 1.0  # type: ignore[misc]
    bare = result.model_copy(update={"output": None, "attempts": []})
    assert (item_done("run", bare, 0).output, item_done("run", bare, 0).retry_error) == (None, None)
