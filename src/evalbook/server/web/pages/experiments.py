"""``/experiments``: the workspace's experiments (runs grouped by experiment id, such as a
matrix of models × prompt versions); ``/experiments/{id}``: one as a matrix — its
combinations, each compared with the baseline (``compare``'s paired statistics), then the
case grid: rows = cases, columns = combinations, each cell the verdict and the output's
start, a page at a time (keyset). JSON twins: ``GET /api/experiments`` and
``GET /api/experiments/{id}``; the page shows exactly what they answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.experiments import Experiment, decode_grid_cursor, experiment_view
from evalbook.server.deps import decode_run_cursor, encode_cursor
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import delta_bar
from evalbook.server.web.templating import render
from evalbook.storage.experiments import list_experiments

router = APIRouter()

__all__ = ["router"]

PAGE = 50
LIST_PAGE = 50
ExperimentPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Cursor = Annotated[str | None, Query(max_length=1000, pattern=r"^[A-Za-z0-9_=-]*$")]
RunParam = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9A-Za-z_-]*$")]
#: The run metrics the summary table shows against the baseline, in order.
SHOWN = (("score", "Score"), ("pass_rate", "Pass rate"))


@router.get("/experiments")
async def experiments_page(request: Request, viewer: PageViewer, cursor: Cursor = None) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id
    after: tuple[datetime, str] | None = decode_run_cursor(cursor or None)
    found = await run_in_threadpool(
        lambda: list_experiments(store, workspace_id, limit=LIST_PAGE + 1, after=after)
    )
    page = found[:LIST_PAGE]
    more = None
    if len(found) > LIST_PAGE:
        last = page[-1]
        more = "/experiments?" + urlencode(
            {"cursor": encode_cursor([last.last_at.isoformat(), last.id])}
        )
    context = {
        "title": "Experiments",
        "nav": "experiments",
        "experiments": page,
        "more": more,
        "first": bool(cursor),
        "json_url": "/api/experiments",
    }
    return render(request, "experiments.html", context, viewer=viewer)


def _summary_rows(view: Experiment) -> list[dict[str, Any]]:
    """One row per combination: its run, and for a candidate each shown metric's Δ with
    its interval bar and p-value (tone: significantly worse or better)."""
    by_run = {c.run_id: c for c in view.comparisons}
    rows = []
    for column in view.combinations:
        comparison = by_run.get(column.run_id)
        cells = []
        for key, _ in SHOWN:
            metric = (
                None
                if comparison is None
                else next((m for m in comparison.metrics if m.key == key), None)
            )
            bar = tone = None
            if metric is not None:
                low, high = metric.difference_ci
                bar = delta_bar(metric.difference, low, high)
                if metric.significant(0.05) and metric.drop:
                    tone = "worse" if metric.drop > 0 else "better"
            cells.append({"m": metric, "bar": bar, "tone": tone})
        rows.append({"c": column, "comparison": comparison, "cells": cells})
    return rows


@router.get("/experiments/{experiment_id:path}")
async def experiment_page(
    request: Request,
    viewer: PageViewer,
    experiment_id: ExperimentPath,
    baseline: RunParam = None,
    cursor: Cursor = None,
    differing: bool = False,
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id
    after = decode_grid_cursor(cursor or None)
    view = await run_in_threadpool(
        lambda: experiment_view(
            store,
            workspace_id,
            experiment_id,
            baseline=baseline or None,
            after=after,
            limit=PAGE,
            differing=differing,
        )
    )
    base_url = "/experiments/" + quote(experiment_id, safe="")
    only = "true" if differing else ""

    def url(**changes: str) -> str:
        values = {"baseline": baseline or "", "differing": only, "cursor": cursor or "", **changes}
        kept = {k: v for k, v in values.items() if v}
        return base_url + (f"?{urlencode(kept)}" if kept else "")

    api = {"baseline": baseline or "", "differing": only, "cursor": cursor or ""}
    json_url = (
        "/api"
        + base_url
        + (f"?{urlencode({k: v for k, v in api.items() if v})}" if any(api.values()) else "")
    )
    context = {
        "title": f"Experiment {experiment_id}",
        "nav": "experiments",
        "view": view,
        "rows": _summary_rows(view),
        "labels": SHOWN,
        "base": next(c for c in view.combinations if c.baseline),
        "next_url": url(cursor=view.grid.next_cursor) if view.grid.next_cursor else None,
        "first_url": url(cursor="") if cursor else None,
        # the filter is in the URL, so a link reproduces the view; a new filter starts over
        "differing_url": url(differing="" if differing else "true", cursor=""),
        "baseline_urls": {c.run_id: url(baseline=c.run_id, cursor="") for c in view.combinations},
        "json_url": json_url,
    }
    return render(request, "experiment.html", context, viewer=viewer)
