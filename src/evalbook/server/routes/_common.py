"""What the resource routers share: the store, path and query types, cursors, and the one
way a run is submitted (validated, recorded, queued, the worker woken; idempotent)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunRecord
from evalbook.core.suite import PromptVersion
from evalbook.errors import UserError
from evalbook.providers.base import Provider
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.schemas.common import MAX_PAGE
from evalbook.server.state import server_state
from evalbook.storage.queue import find_idempotent, mark_queued
from evalbook.storage.run_admin import discard_unqueued
from evalbook.storage.runs_query import WorkspaceRun, get_workspace_run
from evalbook.storage.store import Store

__all__ = [
    "CursorQuery",
    "IdempotencyKey",
    "LimitQuery",
    "OffsetQuery",
    "PromptName",
    "RunId",
    "StoreDep",
    "SuiteIdPath",
    "decode_cursor",
    "encode_cursor",
    "next_url",
    "submit_run",
    "text_query",
]

#: Printable text of one line (no control characters: they have no place in a name).
_TEXT = r"^[^\x00-\x1f\x7f]+$"


def _store(request: Request) -> Store:
    return server_state(request).store


StoreDep = Annotated[Store, Depends(_store)]

RunId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$", description="Run id")
]
SuiteIdPath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=r"^[a-z0-9_.-]+$", description="Suite id")
]
PromptName = Annotated[
    str, Path(min_length=1, max_length=200, pattern=_TEXT, description="Prompt name")
]
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description=f"Items per page (at most {MAX_PAGE})")
]
OffsetQuery = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip")]
CursorQuery = Annotated[
    str | None,
    Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]+$", description="From a page's `next`"),
]


def text_query(description: str, max_length: int = 200) -> Any:
    """A one-line text filter (``Annotated[str | None, text_query(...)]``)."""
    return Query(max_length=max_length, min_length=1, pattern=_TEXT, description=description)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A retried request with the same key returns the run the first made",
    ),
]


def encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The position a page's ``next`` link carries; anything else is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise UserError("cursor: not a cursor this server gave out") from None
    if not isinstance(position, list):
        raise UserError("cursor: not a cursor this server gave out")
    return position


def next_url(request: Request, **params: str | int) -> str:
    """This request's path and query with ``params`` replaced: the next page's link."""
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}"


async def submit_run(
    request: Request,
    workspace: CurrentWorkspace,
    key: str | None,
    prepare: Callable[[], tuple[RunRecord, PromptVersion, ModelConfig, Provider]],
) -> tuple[WorkspaceRun, bool]:
    """Record a run with ``prepare`` (``executor.launch.prepare_run``, which validates
    everything first), queue it and wake the worker. Returns the run and whether this
    request created it: with an ``Idempotency-Key`` already used in the workspace, the
    first request's run comes back instead, even when both requests race (the database's
    unique key decides; the loser's unqueued run is removed before anyone saw it)."""
    store = server_state(request).store
    if key is not None:
        existing = await run_in_threadpool(find_idempotent, store, workspace.id, key)
        if existing is not None:
            return await run_in_threadpool(get_workspace_run, store, workspace.id, existing), False
    run, _version, _config, provider = await run_in_threadpool(prepare)
    await provider.aclose()
    try:
        await run_in_threadpool(mark_queued, store, run.id, idempotency_key=key)
    except sa.exc.IntegrityError:
        await run_in_threadpool(discard_unqueued, store, run.id)
        assert key is not None  # only the idempotency key is unique among these columns
        winner = await run_in_threadpool(find_idempotent, store, workspace.id, key)
        if winner is None:  # pragma: no cover - the winner cannot vanish
            raise
        return await run_in_threadpool(get_workspace_run, store, workspace.id, winner), False
    server_state(request).wake_worker()
    return await run_in_threadpool(get_workspace_run, store, workspace.id, run.id), True
