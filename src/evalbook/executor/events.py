"""Progress events a run emits: the CLI draws bars from them, the server streams them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evalbook.core.run import RunRecord


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    total: int
    already_done: int


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


@dataclass(frozen=True)
class RunFinished:
    run: RunRecord


Event = RunStarted | ItemDone | RunFinished
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    return None
