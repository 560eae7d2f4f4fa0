"""Finish a run: aggregates, verdict, cost and status, written once at the end.

Shared by the runner and the rescorer so that a re-scored run is summarised exactly as a
run is: the same counts, metrics, pass/fail against the threshold and judge usage.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.aggregate import Summary, summarize
from evalbook.executor.derived import derived_metrics
from evalbook.executor.events import EventSink, RunFinished, ignore
from evalbook.executor.store_io import StoreIO
from evalbook.plain_text import get_logger
from evalbook.storage.facts import fact_rows

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["failing_reasons", "finish_run"]

log = get_logger("evalbook.executor")


async def finish_run(
    store: Store,
    io: StoreIO,
    run: RunRecord,
    *,
    started: float,
    stop_reason: str | None = None,
    stop_status: RunStatus = RunStatus.canceled,
    on_event: EventSink = ignore,
    flush_events: Callable[[], Awaitable[None]] | None = None,
    planned: int | None = None,
) -> RunRecord:
    """Summarise what ``run`` recorded and mark it finished (``completed``, or
    ``stop_status`` when ``stop_reason`` says why it stopped early).

    ``started`` is the ``time.perf_counter()`` of this session; a resumed run adds its
    sessions' durations. Only a completed run can pass, and only when (see
    :func:`failing_reasons`) some case was scored, its score reaches the threshold, no
    case failed to render and its error rate is within ``options.max_error_rate``.

    ``flush_events``: writes the events ``on_event`` buffered (a worker's progress log);
    awaited before the end is recorded, so that a process dying right after that record
    leaves every case's event in the log — a finished run is never resumed, and nothing
    would add them later.

    A completed run whose options carry ``derived_metrics`` gets their values in
    ``metrics["derived"]`` (see ``executor/derived.py``).

    A run about to be marked completed is first checked against its plan: ``planned``
    results (by default its suite's cases, or those its options name, times its epochs;
    a re-scored run is not checked: it records what its source recorded). With results
    missing from the record (a lost batch, a row deleted meanwhile) it ends ``failed``,
    its stop reason saying how many are missing: never a complete run that is not.
    """
    summary = await io.call(lambda: summarize(*fact_rows(store.engine, run.id)))
    if not stop_reason:
        if planned is None and run.rescored_from is None:
            from evalbook.storage.results import planned_items

            planned = await io.call(planned_items, store, run)
        missing = 0 if planned is None else planned - summary.counts.total
        if missing > 0:
            stop_reason, stop_status = (
                f"{missing} of the {planned} planned results are missing from the record"
                " (written, then lost); resume the run to execute them again",
                RunStatus.failed,
            )
            log.error("run %s: %s", run.id, stop_reason)
    elapsed = (time.perf_counter() - started) * 1000
    run.duration_ms = (run.duration_ms or 0.0) + elapsed
    run.counts = summary.counts
    run.score = summary.score
    run.status = stop_status if stop_reason else RunStatus.completed
    run.stop_reason = stop_reason
    reasons = failing_reasons(run, summary)
    run.passed = run.status is RunStatus.completed and not reasons
    run.input_token_count = summary.input_tokens
    run.output_token_count = summary.output_tokens
    run.token_count = summary.input_tokens + summary.output_tokens
    run.cost = summary.cost
    run.error_rate = summary.error_rate
    run.metrics = {**summary.as_metrics(), "failing": reasons}
    if run.options.derived_metrics and run.status is RunStatus.completed:
        metrics = run.options.derived_metrics
        run.metrics["derived"] = await io.call(
            lambda: derived_metrics(metrics, store.iter_results(run.id))
        )
    judge_cost, judge_in, judge_out = await io.call(store.scorer_usage, run.id)
    if judge_in or judge_out or judge_cost:
        run.judge_cost, run.judge_token_count = judge_cost, judge_in + judge_out
    run.finished_at = datetime.now(UTC)
    await io.call(store.save_metrics, run.id, summary.metric_rows)
    if flush_events is not None:
        try:
            await flush_events()
        except Exception:  # progress, not the record: the run's end is still written
            log.warning("run %s: writing its progress events failed", run.id, exc_info=True)
    await io.call(store.update_run, run)
    on_event(RunFinished(run))
    return run


def failing_reasons(run: RunRecord, summary: Summary) -> list[str]:
    """Why the run does not pass, in plain words (empty when it does)."""
    reasons = []
    total, errored = summary.counts.total, summary.counts.errored
    if summary.score is None:
        reasons.append(f"no case was scored ({errored} of {total} errored)")
    elif summary.score < run.threshold:
        reasons.append(f"score {summary.score:.4g} is below the threshold {run.threshold:g}")
    render = summary.errors_by_kind.get("render", 0)
    if render:
        reasons.append(f"{render} case(s) failed to render (a defect of the suite)")
    rate = summary.error_rate or 0.0
    limit = run.options.max_error_rate
    if errored and rate > limit:
        reasons.append(
            f"{errored} of {total} cases errored ({rate:.3g}%), over the allowed"
            f" {limit:g}% (--max-error-rate)"
        )
    return reasons
