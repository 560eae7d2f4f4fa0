"""The images a run's cases send: ``GET /api/runs/{id}/images/{sha256}`` (the board's
cards and the inspector show them).

Served only when the run (of the caller's workspace) sends that image, only as a raster
type (never SVG, which can carry script), with ``nosniff`` and a CSP that forbids
everything, and cached for a long time: the URL names the content.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from evalbook.core.messages import ImagePart
from evalbook.errors import NotFoundError
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import RunId, StoreDep
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.store import Store

router = APIRouter(prefix="/api/runs", tags=["results"])

_RASTER = {"image/png", "image/jpeg", "image/gif", "image/webp"}
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The image's sha256")]


def _find(store: Store, suite_hash: str, case_ids: list[str] | None, sha: str) -> tuple[str, bytes]:
    suite = store.get_suite(suite_hash)
    for case in suite.select(case_ids):
        parts = list(case.assets)
        for message in case.messages or []:
            if not isinstance(message.content, str):
                parts.extend(p for p in message.content if isinstance(p, ImagePart))
        for part in parts:
            if part.sha256 == sha:
                return part.media_type, base64.b64decode(part.data)
    raise NotFoundError(f"no image {sha} in this run")


@router.get(
    "/{run_id}/images/{sha}",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The image's bytes (PNG, JPEG, GIF or WebP)",
        }
    },
)
async def run_image(
    run_id: RunId, sha: Sha, workspace: CurrentWorkspace, store: StoreDep
) -> Response:
    """One image a case of the run sends."""
    found = await run_in_threadpool(get_workspace_run, store, workspace.id, run_id)
    run = found.run
    media_type, data = await run_in_threadpool(
        _find, store, run.suite_hash, run.options.case_ids, sha
    )
    if media_type not in _RASTER:
        raise NotFoundError(f"image {sha} is not a raster image")
    return Response(
        data,
        media_type=media_type,
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "Content-Security-Policy": "default-src 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )
