"""Progress events a run emits: the CLI draws bars from them, the server streams them
(each stored as one ``run_events`` row, :func:`event_row`; see ``storage/run_events.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalbook.core.run import RunRecord


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    total: int
    already_done: int


@dataclass(frozen=True)
class ItemStarted:
    """A case is being asked now (sent at most a few times a second per run: a live
    board shows the item in progress, not every one)."""

    run_id: str
    case_id: str
    epoch: int
    seq: int
    #: The start of the rendered prompt's last user message.
    question: str
    #: sha256 of the images the case sends.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemDone:
    run_id: str
    case_id: str
    epoch: int
    status: str
    score: float | None
    latency_ms: float | None
    cached: bool
    error: str | None
    #: Plan position (a board's grid cell); ``None`` from producers that have none.
    seq: int | None = None
    #: The start of the model's output (seed 004's ``outputPreview``: 200 characters).
    output: str | None = None
    #: Calls made, and the last failed attempt's message when there was one.
    attempts: int = 0
    retry_error: str | None = None


@dataclass(frozen=True)
class RunFinished:
    run: RunRecord


Event = RunStarted | ItemStarted | ItemDone | RunFinished
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    return None


def event_row(event: Event) -> tuple[str, dict[str, Any]]:
    """``(kind, data)`` of an event as stored in ``run_events`` (the kinds and their data
    are listed in ``storage/run_events.py``)."""
    if isinstance(event, RunStarted):
        return "status", {
            "status": "running",
            "total": event.total,
            "already_done": event.already_done,
        }
    if isinstance(event, ItemStarted):
        return "started", {
            "case_id": event.case_id,
            "epoch": event.epoch,
            "seq": event.seq,
            "question": event.question,
            "images": list(event.images),
        }
    if isinstance(event, ItemDone):
        return "item", {
            "case_id": event.case_id,
            "epoch": event.epoch,
            "status": event.status,
            "score": event.score,
            "latency_ms": event.latency_ms,
            "cached": event.cached,
            "error": event.error,
            "seq": event.seq,
            "output": event.output,
            "attempts": event.attempts,
            "retry_error": event.retry_error,
        }
    run = event.run
    return "finished", {
        "status": run.status.value,
        "score": run.score,
        "passed": run.passed,
        "counts": run.counts.model_dump(mode="json"),
        "cost": run.cost,
        "judge_cost": run.judge_cost,
        "duration_ms": run.duration_ms,
        "stop_reason": run.stop_reason,
    }
