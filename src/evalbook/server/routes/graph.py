"""Seed 000's product graph over HTTP: every node, every edge, one suite's graph (built in
``server/product_graph.py``, which the pages share).

"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from evalbook.server.auth import CurrentWorkspace
from evalbook.server.product_graph import edge_sources, node_sources, page, suite_graph
from evalbook.server.routes._common import (
    LimitQuery,
    OffsetQuery,
    StoreDep,
    SuiteIdPath,
    next_url,
)
from evalbook.server.schemas.graph import (
    EDGE_TYPES,
    NODE_TYPES,
    EdgePage,
    EdgeType,
    GraphNode,
    NodePage,
    NodeType,
    SuiteGraph,
)

router = APIRouter(prefix="/api/graph", tags=["graph"])


@router.get("/nodes")
def list_nodes(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    type: Annotated[NodeType | None, Query(description="Only nodes of this type")] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> NodePage:
    """The workspace's records as BaseNode objects (all types, in the order
    ``eval_run, eval_benchmark, metric, ai_model, prompt_version``, unless ``type``)."""
    sources = node_sources(store, workspace.id)
    kinds = [type] if type is not None else list(NODE_TYPES)
    items: list[GraphNode]
    items, more = page([sources[k] for k in kinds], offset, limit)
    return NodePage(items=items, next=next_url(request, offset=offset + limit) if more else None)


@router.get("/edges")
def list_edges(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    type: Annotated[EdgeType | None, Query(description="Only edges of this type")] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> EdgePage:
    """Typed edges between the nodes of ``/api/graph/nodes``."""
    sources = edge_sources(store, workspace.id)
    kinds = [type] if type is not None else list(EDGE_TYPES)
    items, more = page([sources[k] for k in kinds], offset, limit)
    return EdgePage(items=items, next=next_url(request, offset=offset + limit) if more else None)


@router.get("/suites/{suite_id}")
def get_suite_graph(
    suite_id: SuiteIdPath, workspace: CurrentWorkspace, store: StoreDep
) -> SuiteGraph:
    """One suite's benchmark → runs → metrics: its versions, its 20 newest runs and the
    run and scorer metrics they produced, with the edges between them."""
    return suite_graph(store, workspace.id, suite_id)
