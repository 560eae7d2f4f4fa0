"""Prompts and their immutable numbered versions. Prompts come from suites: a workspace
sees the prompts of the suites it registered and of the runs it made."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from evalbook.errors import NotFoundError
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import (
    LimitQuery,
    OffsetQuery,
    PromptName,
    StoreDep,
    next_url,
)
from evalbook.server.schemas.catalog import PromptOut, PromptPage, PromptVersionOut
from evalbook.server.schemas.common import INT32
from evalbook.storage.catalog import PromptRef, prompt_refs
from evalbook.storage.store import Store

router = APIRouter(prefix="/api/prompts", tags=["prompts"])

VersionNo = Annotated[int, Path(ge=1, le=INT32, description="Prompt version number")]


def _refs(store: Store, workspace_id: str, name: str) -> list[PromptRef]:
    refs = prompt_refs(store, workspace_id, name)
    if not refs:
        raise NotFoundError(f"no prompt {name!r} in this workspace")
    return refs


def _version_out(store: Store, workspace_id: str, ref: PromptRef) -> PromptVersionOut:
    body = store.get_prompt_version(ref.name, ref.version, workspace_id=workspace_id)
    return PromptVersionOut(
        name=ref.name,
        version=ref.version,
        hash=ref.hash,
        system=body.system,
        messages=body.messages,
        created_at=ref.created_at,
    )


@router.get("")
def list_prompts(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> PromptPage:
    """The workspace's prompts by name, with their version numbers."""
    by_name: dict[str, list[int]] = {}
    for ref in prompt_refs(store, workspace.id):
        by_name.setdefault(ref.name, []).append(ref.version)
    names = sorted(by_name)
    more = offset + limit < len(names)
    return PromptPage(
        items=[
            PromptOut(name=n, versions=by_name[n], latest=max(by_name[n]))
            for n in names[offset : offset + limit]
        ],
        next=next_url(request, offset=offset + limit) if more else None,
    )


@router.get("/{name}/versions")
def list_prompt_versions(
    name: PromptName, workspace: CurrentWorkspace, store: StoreDep
) -> list[PromptVersionOut]:
    """Every version of a prompt, oldest first."""
    return [_version_out(store, workspace.id, ref) for ref in _refs(store, workspace.id, name)]


@router.get("/{name}/versions/{version}")
def get_prompt_version(
    name: PromptName, version: VersionNo, workspace: CurrentWorkspace, store: StoreDep
) -> PromptVersionOut:
    """One prompt version: its system message and message templates."""
    for ref in _refs(store, workspace.id, name):
        if ref.version == version:
            return _version_out(store, workspace.id, ref)
    raise NotFoundError(f"prompt {name!r} has no version {version} in this workspace")
