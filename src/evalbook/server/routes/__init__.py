"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from evalbook.server.routes import (
    activity,
    compare,
    evals,
    events,
    experiments,
    graph,
    health,
    images,
    judges,
    kinds,
    live,
    prompt_evals,
    prompts,
    results,
    runs,
    suites,
    webhooks,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    suites.router,
    prompts.router,
    runs.router,
    results.router,
    images.router,
    compare.router,
    experiments.router,
    judges.router,
    evals.router,
    kinds.router,
    prompt_evals.router,
    graph.router,
    events.router,
    activity.router,
    live.router,
    webhooks.router,
)
