"""A run's progress log stays whole across a crash: each recorded case has one ``item``
event in ``run_events``.

Two halves. A case's ``ItemDone`` goes out only after its result is committed
(``writer.ResultWriter``), so the log never announces a case that a crash loses and the
resumed run asks again. What a crash can still take is the other side: results committed
whose events were in the event recorder's buffer, not yet written. When a logged run is
resumed, :func:`repair_log` appends those events from the recorded results before anything
new, so a client following the log with ``Last-Event-ID`` gets them once, in order.
"""

from __future__ import annotations

from collections.abc import Mapping

from evalbook.core.result import Result
from evalbook.executor.events import ItemDone, event_row
from evalbook.storage.run_events import append_events, logged_items
from evalbook.storage.store import Store

__all__ = ["PREVIEW_CHARS", "item_done", "repair_log"]

#: The start of a case's output an ``item`` event carries (seed 004's ``outputPreview``).
PREVIEW_CHARS = 200


def item_done(run_id: str, result: Result, seq: int) -> ItemDone:
    """The ``ItemDone`` event of a recorded (or about to be recorded) result."""
    return ItemDone(
        run_id,
        result.case_id,
        result.epoch,
        result.status.value,
        result.score,
        result.latency_ms,
        result.cached,
        result.error_message,
        seq=seq,
        output=None if result.output is None else result.output[:PREVIEW_CHARS],
        attempts=len(result.attempts),
        retry_error=next((a.message for a in reversed(result.attempts) if a.outcome != "ok"), None),
    )


def repair_log(store: Store, run_id: str, seq_of: Mapping[tuple[str, int], int]) -> int:
    """Append the ``item`` events its log lacks of the run's recorded results, of the items
    ``seq_of`` (``(case id, epoch) → plan position``); return how many. A run that logged
    nothing (executed by the CLI) is left alone: it has no log to repair."""
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
