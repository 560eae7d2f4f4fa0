"""Liveness and identity: who am I talking to, and as whom."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from evalbook._version import __version__
from evalbook.server.auth import CurrentWorkspace

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: str
    version: str


class WhoAmI(BaseModel):
    workspace_id: str
    workspace: str


@router.get("/api/health")
def health() -> Health:
    """Always answers while the server is up (no key needed)."""
    return Health(status="ok", version=__version__)


@router.get("/api/whoami")
def whoami(workspace: CurrentWorkspace) -> WhoAmI:
    """The workspace this request is served as."""
    return WhoAmI(workspace_id=workspace.id, workspace=workspace.name)
