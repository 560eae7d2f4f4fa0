"""Every router of the API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from evalbook.server.routes import health

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (health.router,)
