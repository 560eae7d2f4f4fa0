"""Seed 000's product graph: BaseNode objects and typed edges over the same records."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from evalbook.server.schemas.common import Page

__all__ = [
    "EDGE_TYPES",
    "NODE_TYPES",
    "AiModelNode",
    "EdgePage",
    "EdgeType",
    "EvalBenchmarkNode",
    "EvalRunNode",
    "GraphEdge",
    "GraphNode",
    "MetricNode",
    "NodePage",
    "NodeType",
    "PromptVersionNode",
]

NodeType = Literal["eval_run", "eval_benchmark", "metric", "ai_model", "prompt_version"]
NODE_TYPES: tuple[NodeType, ...] = (
    "eval_run",
    "eval_benchmark",
    "metric",
    "ai_model",
    "prompt_version",
)
EdgeType = Literal["eval_benchmark_executed_as_eval_run", "eval_run_produces_metric"]
EDGE_TYPES: tuple[EdgeType, ...] = (
    "eval_benchmark_executed_as_eval_run",
    "eval_run_produces_metric",
)


class BaseNode(BaseModel):
    """A node of the product graph: ``id`` a UUID (derived from the content for benchmarks,
    models, prompt versions and metrics, so it never changes), ``type`` the discriminator."""

    id: str
    title: str
    description: str | None = None
    status: str | None = None
    tags: list[str] = Field(default_factory=list)


class EvalRunNode(BaseNode):
    """A run as a node of the product graph, with its run-specific fields."""

    type: Literal["eval_run"] = "eval_run"
    run_date: str | None = None
    score: float | None = None
    passed: bool | None = None
    duration_ms: float | None = None
    token_count: int | None = None
    input_token_count: int | None = None
    output_token_count: int | None = None
    cost: float | None = None
    error_rate: float | None = None
    feedback_scores: str | None = None


class EvalBenchmarkNode(BaseNode):
    """A suite version (the fixed instrument)."""

    type: Literal["eval_benchmark"] = "eval_benchmark"
    suite_id: str
    version: str
    hash: str
    case_count: int


class MetricNode(BaseNode):
    """One aggregate a run produced."""

    type: Literal["metric"] = "metric"
    run_id: str
    scope: str
    name: str
    value: float | None = None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    higher_is_better: bool


class AiModelNode(BaseNode):
    """A model config the workspace's runs used (identified by its content hash)."""

    type: Literal["ai_model"] = "ai_model"
    provider: str
    name: str
    version: str | None = None
    hash: str


class PromptVersionNode(BaseNode):
    type: Literal["prompt_version"] = "prompt_version"
    prompt_name: str
    version: int
    hash: str


GraphNode = Annotated[
    EvalRunNode | EvalBenchmarkNode | MetricNode | AiModelNode | PromptVersionNode,
    Field(discriminator="type"),
]


class NodePage(Page[GraphNode]):
    pass


class GraphEdge(BaseModel):
    """A typed, directed edge: ``source`` → ``target`` (node ids)."""

    id: str
    type: EdgeType
    source: str
    target: str


class EdgePage(Page[GraphEdge]):
    pass


class SuiteGraph(BaseModel):
    """One suite's part of the graph: its versions (``eval_benchmark``), its latest runs
    (``eval_run``, newest first) and their run and scorer metrics, with the edges."""

    suite_id: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
