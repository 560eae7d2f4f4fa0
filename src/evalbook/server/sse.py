"""What the server's two event streams share: the run's (``/api/runs/{id}/events``) and
the workspace's (``/api/events``). Both read an append-only log with ids, poll it while
nothing is new, send keepalive comments, and resume after ``Last-Event-ID``."""

from __future__ import annotations

import json
from typing import Any

from fastapi.sse import format_sse_event

from evalbook.errors import UserError

#: Seconds between looks at the log while nothing is new.
POLL_S = 0.25
#: Events read per look.
BATCH = 500
#: Seconds of silence after which a keepalive comment is sent.
KEEPALIVE_S = 15.0
#: The largest event id (a 64-bit column).
MAX_ID = 2**63 - 1
#: Headers of a stream: never cached, never buffered by a proxy.
NO_CACHE = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = b": keepalive\n\n"


def event_schema(data: str) -> dict[str, object]:
    """One event of a stream as OpenAPI describes it (3.1 tools read a stream's schema
    per event; 3.2 calls it ``itemSchema``); ``data`` says what the payload holds."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["status", "started", "item", "finished"]},
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "description": data,
            },
            "retry": {"type": "integer"},
        },
    }


def resume_cursor(header: str | None, after: int | None) -> int | None:
    """Where to resume: ``Last-Event-ID`` (the newer, on a browser's reconnect) or
    ``?after``; None to start from the beginning."""
    if header is not None and header.strip():
        value = header.strip()
        if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
            raise UserError(f"Last-Event-ID must be an event id (an integer), got {value!r}")
        return int(value)
    return after


def frame(event_id: int, kind: str, data: dict[str, Any]) -> bytes:
    """One event: its id in the log, its kind and its JSON payload."""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return format_sse_event(data_str=body, event=kind, id=str(event_id))
