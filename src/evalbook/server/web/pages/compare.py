"""``/compare?runs=A,B[,C…]``: runs side by side, with the statistics ``evalbook compare``
prints — per metric (overall, pass rate, each scorer, each section) the paired difference,
its interval, p-value and n — latency histograms on shared bins, consumption, warnings,
then the cases: flips (newly failing first), regressions, fixes, different outputs only or
all, each with the word diff of its two outputs (and of its prompts when they differ).

The first run is the baseline; with three or more runs the metrics table shows every
candidate and ``vs=K`` picks the one whose cases are listed. ``?alias=x&alias=y`` compares
the latest completed run of each alias. Everything the page shows is in its URL.
JSON twins: ``GET /api/compare`` (the comparison), ``/api/compare/cases`` (the rows) and
``/api/compare/case`` (one case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.compare.cache import cached_comparison
from evalbook.analysis.compare.comparison import Comparison
from evalbook.analysis.compare.rows import SHOWS, Show, compare_rows, one_case
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import delta_bar, histogram
from evalbook.server.web.templating import render
from evalbook.storage.activity import alias_summary, compare_readiness
from evalbook.storage.runs import RunFilter, get_workspace_run, list_workspace_runs
from evalbook.storage.store import Store

router = APIRouter()

__all__ = ["CompareQuery", "router"]

PAGE = 20
MAX_RUNS = 6
RunsParam = Annotated[list[str], Query(max_length=MAX_RUNS * 2)]
Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")]
_TEXT = r"^[^\x00-\x1f\x7f]*$"
SORTS = ("delta", "case", "section")


@dataclass(frozen=True)
class CompareQuery:
    """The page's view as its URL carries it."""

    runs: tuple[str, ...]
    vs: int = 1
    show: Show = "flips"
    sort: str = "delta"
    cursor: str = ""
    case: str = ""
    epoch: int = 0

    def url(self, **changes: Any) -> str:
        values: dict[str, Any] = {
            "runs": ",".join(self.runs),
            "vs": self.vs if self.vs != 1 else "",
            "show": self.show if self.show != "flips" else "",
            "sort": self.sort if self.sort != "delta" else "",
            "cursor": self.cursor,
            "case": self.case,
            "epoch": self.epoch if self.case and self.epoch else "",
        }
        values.update(changes)
        if values.get("vs") == 1:
            values["vs"] = ""
        if values.get("show") == "flips":
            values["show"] = ""
        if values.get("sort") == "delta":
            values["sort"] = ""
        kept = {k: str(v) for k, v in values.items() if v not in ("", None)}
        return "/compare?" + urlencode(kept)


def _split(values: list[str]) -> tuple[str, ...]:
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if len(ids) > MAX_RUNS:
        raise UserError(f"compare at most {MAX_RUNS} runs at once ({len(ids)} given)")
    for run_id in ids:
        if len(run_id) > 64 or not all(c.isalnum() or c in "_-" for c in run_id):
            raise UserError(f"{run_id[:70]!r} is not a run id")
    return tuple(dict.fromkeys(ids))


def _by_alias(store: Store, workspace_id: str, aliases: list[str]) -> tuple[str, ...]:
    """The latest completed run of each alias (in the order given)."""
    found = []
    for alias in dict.fromkeys(a.strip() for a in aliases if a.strip()):
        latest = list_workspace_runs(
            store, workspace_id, RunFilter(alias=alias, status="completed"), limit=1
        )
        if not latest:
            raise NotFoundError(f"no completed run has alias {alias!r}")
        found.append(latest[0].run.id)
    return tuple(found)


def _sides(comparisons: list[Comparison], runs: list[RunRecord]) -> list[dict[str, Any]]:
    """Each run's column of the runs table, its histogram on the shared bins."""
    sides = [comparisons[0].baseline, *(c.candidate for c in comparisons)]
    top = max((max(s.latency.histogram, default=0) for s in sides), default=0) or None
    out = []
    for k, (side, run) in enumerate(zip(sides, runs, strict=True)):
        edges = comparisons[max(k - 1, 0)].latency_edges
        out.append(
            {
                "side": side,
                "run": run,
                "role": "baseline" if k == 0 else "candidate" + (f" {k}" if len(sides) > 2 else ""),
                "histogram": histogram(side.latency.histogram, edges, top=top),
            }
        )
    return out


def _metric_rows(comparisons: list[Comparison]) -> list[dict[str, Any]]:
    rows = []
    for m in comparisons[0].metrics:
        cells = []
        for c in comparisons:
            other = c.metric(m.key)
            bar = (
                None
                if other is None
                else delta_bar(other.difference, other.difference_ci[0], other.difference_ci[1])
            )
            tone = ""
            if other is not None and other.significant(0.05) and other.drop:
                tone = "worse" if other.drop > 0 else "better"
            cells.append({"m": other, "bar": bar, "tone": tone})
        rows.append({"m": m, "cells": cells})
    return rows


def compare_context(
    store: Store, workspace_id: str, query: CompareQuery, aliases: list[str]
) -> dict[str, Any]:
    """Everything the page shows; with fewer than two runs, what could be compared."""
    runs_ids = query.runs or (_by_alias(store, workspace_id, aliases) if aliases else ())
    if len(runs_ids) < 2:
        if runs_ids or aliases:
            raise UserError("compare needs two or more runs: ?runs=A,B")
        return {
            "runs": [],
            "readiness": compare_readiness(store, workspace_id, limit=10),
            "aliases": alias_summary(store, workspace_id),
        }
    query = CompareQuery(**{**query.__dict__, "runs": runs_ids})
    runs = [get_workspace_run(store, workspace_id, run_id).run for run_id in runs_ids]
    if query.vs >= len(runs):
        raise UserError(f"vs={query.vs}: there are {len(runs) - 1} candidate(s)")
    base = runs[0]
    comparisons = [cached_comparison(store, base, other) for other in runs[1:]]
    candidate = runs[query.vs]
    comparison = comparisons[query.vs - 1]
    page = compare_rows(
        store,
        comparison,
        base,
        candidate,
        show=query.show,
        sort=query.sort,  # type: ignore[arg-type]
        cursor=query.cursor or None,
        limit=PAGE,
    )
    opened = (
        one_case(store, comparison, base, candidate, query.case, query.epoch)
        if query.case
        else None
    )
    if query.case and opened is None:
        raise NotFoundError(f"neither run has case {query.case!r} (epoch {query.epoch})")
    pair = {"baseline": base.id, "candidate": candidate.id}
    api_rows = {**pair, "show": query.show, "sort": query.sort}
    return {
        "query": query,
        "runs": runs,
        "sides": _sides(comparisons, runs),
        "comparisons": comparisons,
        "comparison": comparison,
        "metric_rows": _metric_rows(comparisons),
        "warnings": [(k, w) for k, c in enumerate(comparisons, 1) for w in c.warnings],
        "candidate": candidate,
        "page": page,
        "opened": opened,
        "shows": SHOWS,
        "sorts": SORTS,
        "json_url": "/api/compare?" + urlencode(pair),
        "rows_api": "/api/compare/cases?" + urlencode(api_rows),
        "case_api": (
            "/api/compare/case?" + urlencode({**pair, "case": query.case, "epoch": query.epoch})
            if opened
            else None
        ),
    }


@router.get("/compare")
async def compare_page(
    request: Request,
    viewer: PageViewer,
    runs: RunsParam = [],  # noqa: B006 (FastAPI copies query defaults)
    alias: Annotated[list[str], Query(max_length=MAX_RUNS)] = [],  # noqa: B006
    vs: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 1,
    show: Show = "flips",
    sort: Annotated[str, Query(pattern=r"^(delta|case|section)$")] = "delta",
    cursor: Cursor = None,
    case: Annotated[str | None, Query(max_length=300, pattern=_TEXT)] = None,
    epoch: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    query = CompareQuery(
        runs=_split(runs),
        vs=vs,
        show=show,
        sort=sort,
        cursor=cursor or "",
        case=(case or "").strip(),
        epoch=epoch,
    )
    context = await run_in_threadpool(
        compare_context, store, viewer.workspace.id, query, [a[:200] for a in alias]
    )
    if context["runs"]:
        title = "Compare " + " · ".join(r.id[:8] for r in context["runs"])
    else:
        title = "Compare"
        context["json_url"] = None
    context.update(title=title, nav="compare")
    rows_only = request.headers.get("HX-Target") == "rows"
    template = "_compare_rows.html" if rows_only else "compare.html"
    return render(request, template, context, viewer=viewer)
