"""The workspace's activity on the wire: the dashboard and the runs board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from evalbook.core.run import RunRecord
from evalbook.server.schemas.runs import RunOut
from evalbook.storage.activity import Grid, Readiness

__all__ = [
    "BoardOut",
    "CardOut",
    "DashboardOut",
    "GridOut",
    "LaunchOptionsOut",
    "ReadinessOut",
    "SavedModelOut",
    "SuiteChoice",
]


class GridOut(BaseModel):
    """One run's progress grid: ``per`` plan items share a cell; each cell is
    ``[state, done, case_id, epoch]`` (state: pending, partial, passed, failed, error).
    ``done``, ``passed``, ``failed``, ``errored``: the results recorded so far (what a
    running run's card counts; its ``counts`` are summed only when it ends)."""

    total: int
    per: int
    done: int
    passed: int
    failed: int
    errored: int
    cells: list[tuple[str, int, str | None, int | None]]

    @classmethod
    def of(cls, grid: Grid) -> GridOut:
        return cls(
            total=grid.total,
            per=grid.per,
            done=grid.done,
            passed=grid.passed,
            failed=grid.failed,
            errored=grid.errored,
            cells=[
                (state, done, first[0] if first else None, first[1] if first else None)
                for state, done, first in grid.cells
            ],
        )


class CardOut(BaseModel):
    run: RunOut
    grid: GridOut


class BoardOut(BaseModel):
    """Active and recently finished runs. Follow ``GET /api/events?after=last_event_id``
    to keep them current."""

    cards: list[CardOut]
    last_event_id: int


class ReadinessOut(BaseModel):
    """A suite with ``completed`` finished runs: ``compare`` opens its latest two."""

    suite_id: str
    suite_name: str
    completed: int
    runs: list[str]
    compare: str

    @classmethod
    def of(cls, r: Readiness) -> ReadinessOut:
        return cls(
            suite_id=r.suite_id,
            suite_name=r.suite_name,
            completed=r.completed,
            runs=list(r.latest),
            compare="/compare?runs=" + ",".join(reversed(r.latest)),
        )


class DashboardOut(BaseModel):
    """``cards``: the active runs as the dashboard's cards show them (with their grids
    and the results recorded so far)."""

    active: list[RunOut]
    cards: list[CardOut]
    recent: list[RunRecord]
    readiness: list[ReadinessOut]
    newest_failure: RunRecord | None
    last_event_id: int


class SuiteChoice(BaseModel):
    suite_id: str
    version: str
    name: str
    cases: int


class SavedModelOut(BaseModel):
    """A model config a run used: launch with ``model`` = ``config``."""

    hash: str
    label: str
    config: dict[str, Any]
    last_used: datetime


class LaunchOptionsOut(BaseModel):
    providers: list[str]
    suites: list[SuiteChoice]
    models: list[SavedModelOut]
    source: RunOut | None
    #: Built-in judge criteria a run's ``judge.criteria`` may name.
    judge_criteria: list[str] = []
