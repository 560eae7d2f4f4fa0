"""The progress log across a crash: a case's ``item`` event is written only after its
result is committed, and resuming a logged run gives the log the events of recorded cases
it lacks, once."""

from __future__ import annotations

from typing import Any

import evalbook
from evalbook.executor.events import Event, ItemDone
from evalbook.executor.progress_log import repair_log
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer import ResultWriter
from evalbook.storage.run_events import append_events, logged_items, read_events
from evalbook.storage.store import Store

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
