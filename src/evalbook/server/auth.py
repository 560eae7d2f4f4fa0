"""Who is asking: the workspace of the request's API key.

``Authorization: Bearer ek_…`` names a key; its workspace scopes every resource, and a
resource of another workspace answers 404 (not 403: its existence is not disclosed).
Without a key, a request is served as the ``default`` workspace only in single-user mode:
the server listens on loopback and no key has been created. Once a key exists, every
request needs one.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from evalbook.server.state import ServerState, server_state
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, Workspace, has_keys, resolve_key

__all__ = ["CurrentWorkspace", "current_workspace"]

_KEYS_TTL_S = 2.0


def _keys_exist(state: ServerState) -> bool:
    now = time.monotonic()
    cached = state.keys_exist
    if cached is None or now - cached[1] > _KEYS_TTL_S:
        cached = state.keys_exist = (has_keys(state.store), now)
    return cached[0]


def current_workspace(request: Request) -> Workspace:
    state = server_state(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "use 'Authorization: Bearer <key>'")
        workspace = resolve_key(state.store, token.strip())
        if workspace is None:
            raise HTTPException(401, "unknown or revoked API key")
        return workspace
    if state.settings.single_user_allowed and not _keys_exist(state):
        return Workspace(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE)
    raise HTTPException(
        401,
        "an API key is required (create one with `evalbook keys create --workspace NAME`)",
        headers={"WWW-Authenticate": "Bearer"},
    )


CurrentWorkspace = Annotated[Workspace, Depends(current_workspace)]
