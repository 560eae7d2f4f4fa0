"""What the resource routers share: the store, path and query types, cursors (and,
re-exported, the one way a run is submitted: ``server/launching.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request

from evalbook.server.deps import decode_cursor, encode_cursor
from evalbook.server.launching import submit_run
from evalbook.server.schemas.common import MAX_PAGE
from evalbook.server.state import server_state
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


async def _store(request: Request) -> Store:
    # async: a sync dependency would cost every request a hop through the thread pool.
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


def next_url(request: Request, **params: str | int) -> str:
    """This request's path and query with ``params`` replaced: the next page's link."""
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}"
