"""Seed 000's product graph of a workspace's records, built for the API and the pages.

Nodes: ``eval_run`` (a run, with the seed's type-specific fields), ``eval_benchmark`` (a
suite version), ``metric`` (an aggregate a run produced), ``ai_model`` (a model config
runs used) and ``prompt_version``. Edges: ``eval_benchmark_executed_as_eval_run`` (suite
version → run) and ``eval_run_produces_metric`` (run → metric). Runs keep their own
UUIDs; every other node's id is a UUID derived from what it is (a content hash, or the
run and metric name), so ids are stable across calls and servers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from evalbook.core.identity import stable_uuid
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError
from evalbook.server.schemas.graph import (
    AiModelNode,
    EdgeType,
    EvalBenchmarkNode,
    EvalRunNode,
    GraphEdge,
    GraphNode,
    MetricNode,
    NodeType,
    PromptVersionNode,
    SuiteGraph,
)
from evalbook.storage.catalog import prompt_refs, suite_refs
from evalbook.storage.graph import (
    count_metrics,
    count_runs,
    metric_rows,
    model_rows,
    run_rows,
)
from evalbook.storage.runs import RunFilter, list_workspace_runs
from evalbook.storage.store import Store

__all__ = [
    "SUITE_GRAPH_RUNS",
    "Source",
    "benchmark_id",
    "edge",
    "edge_sources",
    "metric_id",
    "metric_node",
    "node_sources",
    "page",
    "run_node",
    "suite_graph",
]

T = TypeVar("T")
#: ``(how many, fetch(offset, limit))`` of one kind of item.
Source = tuple[Callable[[], int], Callable[[int, int], Sequence[T]]]


def benchmark_id(suite_hash: str) -> str:
    return stable_uuid("eval_benchmark", suite_hash)


def metric_id(run_id: str, scope: str, name: str) -> str:
    return stable_uuid("metric", run_id, scope, name)


def run_node(run: RunRecord) -> EvalRunNode:
    return EvalRunNode(
        id=run.id,
        title=run.title,
        description=run.description,
        status=run.status.value,
        tags=run.tags,
        run_date=run.run_date,
        score=run.score,
        passed=run.passed,
        duration_ms=run.duration_ms,
        token_count=run.token_count,
        input_token_count=run.input_token_count,
        output_token_count=run.output_token_count,
        cost=run.cost,
        error_rate=run.error_rate,
        feedback_scores=run.feedback_scores,
    )


def metric_node(row: dict[str, Any]) -> MetricNode:
    scope, name = row["scope"], row["name"]
    return MetricNode(
        id=metric_id(row["run_id"], scope, name),
        title=name if scope in ("run", "scorer") else f"{scope}:{name}",
        tags=[scope],
        run_id=row["run_id"],
        scope=scope,
        name=name,
        value=row["value"],
        n=row["n"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        higher_is_better=row["higher_is_better"],
    )


def node_sources(store: Store, workspace_id: str) -> dict[NodeType, Source[Any]]:
    def benchmarks() -> list[EvalBenchmarkNode]:
        return [
            EvalBenchmarkNode(
                id=benchmark_id(ref.hash),
                title=ref.name,
                status="active",
                suite_id=ref.suite_id,
                version=ref.version,
                hash=ref.hash,
                case_count=ref.case_count,
            )
            for ref in suite_refs(store, workspace_id)
        ]

    def models() -> list[AiModelNode]:
        return [
            AiModelNode(
                id=stable_uuid("ai_model", row["hash"]),
                title=f"{row['provider']}:{row['name']}",
                provider=row["provider"],
                name=row["name"],
                version=(row["config"] or {}).get("version"),
                hash=row["hash"],
            )
            for row in model_rows(store, workspace_id)
        ]

    def prompts() -> list[PromptVersionNode]:
        return [
            PromptVersionNode(
                id=stable_uuid("prompt_version", ref.name, str(ref.version)),
                title=f"{ref.name} v{ref.version}",
                prompt_name=ref.name,
                version=ref.version,
                hash=ref.hash,
            )
            for ref in prompt_refs(store, workspace_id)
        ]

    lazy: dict[NodeType, Callable[[], Sequence[Any]]] = {
        "eval_benchmark": benchmarks,
        "ai_model": models,
        "prompt_version": prompts,
    }
    sources: dict[NodeType, Source[Any]] = {
        "eval_run": (
            lambda: count_runs(store, workspace_id),
            lambda o, n: [run_node(r) for r in run_rows(store, workspace_id, o, n)],
        ),
        "metric": (
            lambda: count_metrics(store, workspace_id),
            lambda o, n: [metric_node(r) for r in metric_rows(store, workspace_id, o, n)],
        ),
    }
    for kind, build in lazy.items():
        sources[kind] = _lazy_listed(build)
    return sources


def _lazy_listed(build: Callable[[], Sequence[T]]) -> Source[T]:
    cache: list[Sequence[T]] = []

    def items() -> Sequence[T]:
        if not cache:
            cache.append(build())
        return cache[0]

    return (lambda: len(items())), (lambda offset, limit: items()[offset : offset + limit])


def page(sources: Sequence[Source[T]], offset: int, limit: int) -> tuple[list[T], bool]:
    """Items ``offset`` … ``offset + limit`` of the sources one after another, and
    whether more follow."""
    items: list[T] = []
    skip, total = offset, 0
    for count, fetch in sources:
        n = count()
        total += n
        if len(items) >= limit:
            continue
        if skip >= n:
            skip -= n
            continue
        items.extend(fetch(skip, limit - len(items)))
        skip = 0
    return items, offset + limit < total


def edge_sources(store: Store, workspace_id: str) -> dict[EdgeType, Source[GraphEdge]]:
    def executed(offset: int, limit: int) -> list[GraphEdge]:
        return [
            edge("eval_benchmark_executed_as_eval_run", benchmark_id(run.suite_hash), run.id)
            for run in run_rows(store, workspace_id, offset, limit)
        ]

    def produces(offset: int, limit: int) -> list[GraphEdge]:
        return [
            edge(
                "eval_run_produces_metric",
                row["run_id"],
                metric_id(row["run_id"], row["scope"], row["name"]),
            )
            for row in metric_rows(store, workspace_id, offset, limit)
        ]

    return {
        "eval_benchmark_executed_as_eval_run": (
            lambda: count_runs(store, workspace_id),
            executed,
        ),
        "eval_run_produces_metric": (lambda: count_metrics(store, workspace_id), produces),
    }


def edge(kind: EdgeType, source: str, target: str) -> GraphEdge:
    return GraphEdge(id=stable_uuid(kind, source, target), type=kind, source=source, target=target)


#: Runs a suite's graph shows (the newest).
SUITE_GRAPH_RUNS = 20


def suite_graph(
    store: Store, workspace_id: str, suite_id: str, *, runs: int = SUITE_GRAPH_RUNS
) -> SuiteGraph:
    """Benchmark → runs → metrics for one suite: every version, the ``runs`` newest runs
    (archived ones included) and the run-level and scorer metrics each produced."""
    refs = suite_refs(store, workspace_id, suite_id)
    if not refs:
        raise NotFoundError(f"no suite {suite_id!r} in this workspace")
    found = [
        w.run
        for w in list_workspace_runs(
            store, workspace_id, RunFilter(suite_id=suite_id, archived=None), limit=runs
        )
    ]
    nodes: list[GraphNode] = [
        EvalBenchmarkNode(
            id=benchmark_id(ref.hash),
            title=ref.name,
            status="active",
            suite_id=ref.suite_id,
            version=ref.version,
            hash=ref.hash,
            case_count=ref.case_count,
        )
        for ref in refs
    ]
    edges: list[GraphEdge] = []
    for run in found:
        nodes.append(run_node(run))
        edges.append(
            edge("eval_benchmark_executed_as_eval_run", benchmark_id(run.suite_hash), run.id)
        )
        for row in store.get_metrics(run.id):
            if row["scope"] not in ("run", "scorer"):
                continue
            metric = metric_node({**row, "run_id": run.id})
            nodes.append(metric)
            edges.append(edge("eval_run_produces_metric", run.id, metric.id))
    return SuiteGraph(suite_id=suite_id, nodes=nodes, edges=edges)
