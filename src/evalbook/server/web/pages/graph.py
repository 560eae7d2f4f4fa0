"""``/suites/{id}/graph``: seed 000's product graph for one suite, drawn on the server —
its versions (benchmarks) → its newest runs → the metrics they produced, each metric with
its trend over those runs. Every node links to its page. JSON twin:
``GET /api/graph/suites/{id}`` (the same nodes and edges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.server.product_graph import suite_graph
from evalbook.server.routes._common import SuiteIdPath
from evalbook.server.schemas.graph import EvalBenchmarkNode, EvalRunNode, MetricNode, SuiteGraph
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import Sparkline, sparkline_svg
from evalbook.server.web.templating import render

router = APIRouter()

__all__ = ["GraphLayout", "layout", "router"]

ROW = 44
NODE_H = 36
COLUMNS = {"eval_benchmark": (8.0, 200.0), "eval_run": (290.0, 250.0), "metric": (630.0, 300.0)}
WIDTH = 940.0


@dataclass(frozen=True)
class Box:
    """A node drawn as a box: where, what it says, where it links."""

    id: str
    kind: str
    x: float
    y: float
    w: float
    label: str
    sub: str
    href: str
    title: str
    tone: str = ""
    spark: Sparkline | None = None


@dataclass(frozen=True)
class Link:
    d: str
    kind: str


@dataclass(frozen=True)
class GraphLayout:
    width: float
    height: float
    boxes: list[Box]
    links: list[Link]
    runs: int
    metrics: int


def _verdict(run: EvalRunNode) -> str:
    return "" if run.passed is None else ("pass" if run.passed else "fail")


def layout(graph: SuiteGraph, suite_id: str) -> GraphLayout:
    """Three columns (versions, runs newest first, metric names) and curved edges."""
    benches = [n for n in graph.nodes if isinstance(n, EvalBenchmarkNode)]
    runs = [n for n in graph.nodes if isinstance(n, EvalRunNode)]
    metrics = [n for n in graph.nodes if isinstance(n, MetricNode)]
    names: dict[tuple[str, str], list[MetricNode]] = {}
    for m in metrics:
        names.setdefault((m.scope, m.name), []).append(m)
    ordered = sorted(names, key=lambda k: (k[0] != "run", k[0], k[1]))
    rows = max(len(benches), len(runs), len(ordered), 1)
    height = rows * ROW + 12

    def top(count: int, i: int) -> float:
        return 6 + (rows - count) * ROW / 2 + i * ROW

    boxes: list[Box] = []
    where: dict[str, Box] = {}
    x, w = COLUMNS["eval_benchmark"]
    for i, b in enumerate(benches):
        box = Box(
            id=b.id,
            kind="bench",
            x=x,
            y=top(len(benches), i),
            w=w,
            label=f"{b.suite_id} v{b.version}",
            sub=f"{b.case_count} cases · {b.hash[:10]}",
            href=f"/suites/{quote(b.suite_id, safe='')}?version={quote(b.version, safe='')}",
            title=f"Suite {b.title}, version {b.version} ({b.case_count} cases)",
        )
        boxes.append(box)
        where[b.id] = box
    x, w = COLUMNS["eval_run"]
    for i, r in enumerate(runs):
        score = "—" if r.score is None else f"{r.score:.3f}"
        box = Box(
            id=r.id,
            kind="run",
            x=x,
            y=top(len(runs), i),
            w=w,
            label=f"{r.id[:8]} · {r.status}",
            sub=f"score {score}"
            + (f" · {_verdict(r)}" if _verdict(r) else "")
            + (f" · {r.run_date[:16]}" if r.run_date else ""),
            href=f"/runs/{r.id}",
            title=f"Run {r.id}: {r.title}, score {score}",
            tone=_verdict(r),
        )
        boxes.append(box)
        where[r.id] = box
    x, w = COLUMNS["metric"]
    oldest_first = list(reversed(runs))
    metric_box: dict[str, Box] = {}
    for i, key in enumerate(ordered):
        by_run = {m.run_id: m for m in names[key]}
        values = [by_run[r.id].value if r.id in by_run else None for r in oldest_first]
        titles = [
            f"run {r.id[:8]}: " + ("—" if v is None else f"{v:.3f}")
            for r, v in zip(oldest_first, values, strict=True)
        ]
        latest = next((v for v in reversed(values) if v is not None), None)
        scope, name = key
        box = Box(
            id=f"metric:{scope}:{name}",
            kind="metric",
            x=x,
            y=top(len(ordered), i),
            w=w,
            label=name if scope == "run" else f"{scope} {name}",
            sub="latest " + ("—" if latest is None else f"{latest:.3f}") + f" · {len(by_run)} runs",
            href=f"/suites/{quote(suite_id, safe='')}",
            title=f"{name}: latest {latest}, over {len(by_run)} runs (oldest left)",
            spark=sparkline_svg(values, titles, width=96, height=26),
        )
        boxes.append(box)
        for m in names[key]:
            metric_box[m.id] = box
    links = []
    for e in graph.edges:
        start = where.get(e.source)
        end = where.get(e.target) or metric_box.get(e.target)
        if start is None or end is None:
            continue
        x1, y1 = start.x + start.w, start.y + NODE_H / 2
        x2, y2 = end.x, end.y + NODE_H / 2
        mid = (x1 + x2) / 2
        d = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        links.append(Link(d=d, kind="exec" if e.type.startswith("eval_benchmark") else "prod"))
    return GraphLayout(WIDTH, height, boxes, links, len(runs), len(ordered))


@router.get("/suites/{suite_id}/graph")
async def graph_page(request: Request, viewer: PageViewer, suite_id: SuiteIdPath) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    graph = await run_in_threadpool(suite_graph, store, viewer.workspace.id, suite_id)
    context: dict[str, Any] = {
        "suite_id": suite_id,
        "g": layout(graph, suite_id),
        "node_h": NODE_H,
        "title": f"Graph of {suite_id}",
        "nav": "suites",
        "json_url": f"/api/graph/suites/{quote(suite_id, safe='')}",
    }
    return render(request, "graph.html", context, viewer=viewer)
