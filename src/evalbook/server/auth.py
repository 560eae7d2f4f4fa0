"""Who is asking: the workspace of the request's API key.

``Authorization: Bearer ek_…`` names a key; its workspace scopes every resource, and a
resource of another workspace answers 404 (not 403: its existence is not disclosed).
Without a key, a request is served as the ``default`` workspace only in single-user mode:
the server listens on loopback and no key has been created. Once a key exists, every
request needs one.

A browser signed in to the web workspace (``server/sessions.py``) reads the API with its
session cookie — the pages' JSON twins and live streams — but only with safe methods
(GET, HEAD): a cookie rides along on requests other sites make, so whatever changes
something needs the ``Authorization`` header (or a web form with its CSRF token).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from evalbook.server import sessions
from evalbook.server.state import ServerState, quick_read, server_state
from evalbook.storage.workspaces import (
    DEFAULT_WORKSPACE,
    Workspace,
    find_key,
    has_keys,
    note_key_used,
)

__all__ = ["CurrentWorkspace", "cookie_workspace", "current_workspace", "keys_exist"]

_KEYS_TTL_S = 2.0


def keys_exist(state: ServerState) -> bool:
    """Whether any unrevoked key exists (read at most every few seconds)."""
    now = time.monotonic()
    cached = state.keys_exist
    if cached is None or now - cached[1] > _KEYS_TTL_S:
        cached = state.keys_exist = (has_keys(state.store), now)
    return cached[0]


async def current_workspace(request: Request) -> Workspace:
    # async: most requests are answered from memory or a quick read (``quick_read``),
    # without a hop through the thread pool.
    state = server_state(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "use 'Authorization: Bearer <key>'")
        # Looked up as a quick read (on SQLite in the loop's thread, no hop); its use
        # noted at most once a minute, a write, in the pool.
        store = state.store
        found = await quick_read(store, lambda: find_key(store, token.strip()))
        if found is None:
            raise HTTPException(401, "unknown or revoked API key")
        if found[1] is not None:
            await run_in_threadpool(note_key_used, store, found[1])
        return found[0]
    if request.method in ("GET", "HEAD") and request.cookies.get(sessions.SESSION_COOKIE):
        workspace = await run_in_threadpool(cookie_workspace, request)
        if workspace is not None:
            return workspace
    if state.settings.single_user_allowed:
        cached = state.keys_exist
        fresh = cached is not None and time.monotonic() - cached[1] <= _KEYS_TTL_S
        # Read in the loop's thread on SQLite (``quick_read``): every request of the
        # moment the answer went stale waited for a pool thread that the loop, busy
        # with the others, let run one row at a time (their p99 500-770 ms, 200 without).
        exist = (
            cached[0]
            if fresh and cached
            else await quick_read(state.store, lambda: keys_exist(state))
        )
        if not exist:
            return Workspace(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE)
    raise HTTPException(
        401,
        "an API key is required (create one with `evalbook keys create --workspace NAME`)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def cookie_workspace(request: Request) -> Workspace | None:
    """The workspace of the request's session cookie, if it holds a live session."""
    session = sessions.read(request.cookies.get(sessions.SESSION_COOKIE))
    if session is None:
        return None
    return sessions.session_workspace(server_state(request).store, session)


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]
