"""A run's progress log stays whole across a crash: each recorded case has one ``item``
event in ``run_events``.

Two halves. A case's ``ItemDone`` goes out only after its result is committed
(``writer.ResultWriter``), so the log never announces a case that a crash loses and the
resumed run asks again. What a crash can still take is the other side: results committed
whose events were in the event recorder's buffer, not yet written. When a logged run is
resumed, :func:`repair_log` appends those events from the recorded results before anything
new, so a client following the log with ``Last-Event-ID`` gets them once, in order.

A finished run is never resumed. A worker writes its buffered events before it records the
run's end (``finish_run``'s ``flush_events``); for a log that still lacks some (written by
an older release, or a write that failed), the event stream calls :func:`close_log` once
the run's summary is overdue, so a reconnecting client still gets every case once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from evalbook.core.result import Result
from evalbook.core.run import RunOptions
from evalbook.core.suite import Suite
from evalbook.executor.events import ItemDone, event_row
from evalbook.executor.plan import iter_items

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["PREVIEW_CHARS", "close_log", "item_done", "plan_positions", "repair_log"]

#: The start of a case's output an ``item`` event carries (seed 004's ``outputPreview``).
PREVIEW_CHARS = 200


def item_done(run_id: str, result: Result, seq: int) -> ItemDone:
    """The ``ItemDone`` event of a recorded (or about to be recorded) result.

    Made as the frozen dataclass's ``__init__`` would, without its ``object.__setattr__``
    per field (one event per result: 4 µs of a cached result's ~80 in the CLI)."""
    attempts = result.attempts
    retry_error = None
    for attempt in reversed(attempts):
        if attempt.outcome != "ok":
            retry_error = attempt.message
            break
    output = result.output
    event = object.__new__(ItemDone)
    event.__dict__.update(
        run_id=run_id,
        case_id=result.case_id,
        epoch=result.epoch,
        status=result.status._value_,  # (``value`` is a slow property)
        score=result.score,
        latency_ms=result.latency_ms,
        cached=result.cached,
        error=result.error_message,
        seq=seq,
        output=None if output is None else output[:PREVIEW_CHARS],
        attempts=len(attempts),
        retry_error=retry_error,
    )
    return event


def plan_positions(
    suite: Suite, options: RunOptions, keys: Collection[tuple[str, int]], part: range | None = None
) -> dict[tuple[str, int], int]:
    """``(case id, epoch) → plan position`` of the items ``keys`` (within ``part``)."""
    return {
        (item.case.id, item.epoch): item.seq
        for item in iter_items(suite.select(options.case_ids), options.epochs)
        if (item.case.id, item.epoch) in keys and (part is None or item.seq in part)
    }


def close_log(store: Store, run_id: str) -> int:
    """Append the ``item`` events a finished run's log lacks of its recorded results, in
    plan order, each once even when two streams close the log at once; return how many.
    A run still executing (its executor writes its own) or one that logged nothing (a CLI
    run) is left alone."""
    from evalbook.storage.run_events import append_items_once, logged_items

    logged = logged_items(store, run_id)
    if logged is None:
        return 0
    run = store.get_run(run_id)
    if not run.status.finished:
        return 0
    missing = store.result_statuses(run_id).keys() - logged
    if not missing:
        return 0
    seq_of = plan_positions(store.get_suite(run.suite_hash), run.options, missing)
    rows = sorted(
        (
            event_row(item_done(run_id, result, seq_of.get(key, -1)))[1]
            for result in store.iter_results(run_id)
            if (key := (result.case_id, result.epoch)) in missing
        ),
        key=lambda data: int(data["seq"]),
    )
    return append_items_once(store, run_id, rows)


def repair_log(store: Store, run_id: str, seq_of: Mapping[tuple[str, int], int]) -> int:
    """Append the ``item`` events its log lacks of the run's recorded results, of the items
    ``seq_of`` (``(case id, epoch) → plan position``); return how many. A run that logged
    nothing (executed by the CLI) is left alone: it has no log to repair."""
    from evalbook.storage.run_events import append_events, logged_items

    logged = logged_items(store, run_id)
    if logged is None:
        return 0
    missing = seq_of.keys() - logged
    if not missing:
        return 0
    rows = [
        event_row(item_done(run_id, result, seq_of[key]))
        for result in store.iter_results(run_id)
        if (key := (result.case_id, result.epoch)) in missing
    ]
    append_events(store, [(run_id, kind, data) for kind, data in rows])
    return len(rows)
