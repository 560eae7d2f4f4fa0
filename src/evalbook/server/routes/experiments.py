"""Experiments: runs grouped by experiment id (a matrix of models × prompt versions),
listed newest first, and one as a grid with each combination compared to the baseline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.experiments import Experiment, decode_grid_cursor, experiment_view
from evalbook.errors import UserError
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import (
    CursorQuery,
    LimitQuery,
    StoreDep,
    decode_cursor,
    encode_cursor,
    next_url,
)
from evalbook.server.schemas.experiments import ExperimentOut, ExperimentPage
from evalbook.storage.experiments import list_experiments

router = APIRouter(prefix="/api/experiments", tags=["experiments"])

ExperimentId = Annotated[
    str,
    Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", description="Experiment id"),
]
GridCursor = Annotated[
    str | None,
    Query(
        max_length=1000,
        pattern=r"^[A-Za-z0-9_=-]+$",
        description="From the grid's `next_cursor`",
    ),
]
BaselineQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Za-z_-]+$",
        description="The run the others are compared with (default: the first recorded)",
    ),
]


@router.get("")
async def list_all(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> ExperimentPage:
    """The workspace's experiments, newest (latest run) first, one page at a time."""
    after = None
    if cursor is not None:
        position = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(position[0]), str(position[1]))
        except (IndexError, TypeError, ValueError):
            raise UserError("cursor: not a cursor this server gave out") from None
    found = await run_in_threadpool(
        lambda: list_experiments(store, workspace.id, limit=limit + 1, after=after)
    )
    page = found[:limit]
    next_link = None
    if len(found) > limit:
        last = page[-1]
        next_link = next_url(request, cursor=encode_cursor([last.last_at.isoformat(), last.id]))
    return ExperimentPage(items=[ExperimentOut.of(f) for f in page], next=next_link)


@router.get("/{experiment_id:path}")
async def get_experiment(
    experiment_id: ExperimentId,
    workspace: CurrentWorkspace,
    store: StoreDep,
    baseline: BaselineQuery = None,
    cursor: GridCursor = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Grid rows per page")] = 50,
    differing: Annotated[
        bool,
        Query(description="Only the cases whose outputs or verdicts differ between combinations"),
    ] = False,
) -> Experiment:
    """The experiment's combinations (one run each, in the order recorded), each one's
    paired comparison with the baseline (every metric's difference, interval, p-value;
    flips each way), and a page of the case grid: rows = cases in id order, columns =
    combinations, each cell the verdict and the output's first 300 characters. Follow
    ``grid.next_cursor`` with ``?cursor=`` (and the same ``differing``)."""
    after = decode_grid_cursor(cursor)
    return await run_in_threadpool(
        lambda: experiment_view(
            store,
            workspace.id,
            experiment_id,
            baseline=baseline,
            after=after,
            limit=limit,
            differing=differing,
        )
    )
