"""Every page router, in one list: a new page is a module here plus a line below."""

from __future__ import annotations

from fastapi import APIRouter

from evalbook.server.web.pages import (
    archive,
    board,
    compare,
    dashboard,
    experiments,
    graph,
    inspector,
    judges,
    launch,
    prompts,
    review,
    signin,
    suites,
)

__all__ = ["PAGES"]

PAGES: tuple[APIRouter, ...] = (
    signin.router,
    dashboard.router,
    board.router,
    launch.router,
    archive.router,
    inspector.router,
    review.router,
    suites.router,
    prompts.router,
    compare.router,
    experiments.router,
    judges.router,
    graph.router,
)
