"""What the API's routes and the web pages share besides the store queries: cursors of
keyset pages (a page's ``next`` link carries the position of its last row)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from evalbook.errors import UserError

__all__ = ["decode_cursor", "decode_run_cursor", "encode_cursor", "run_cursor"]


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


def run_cursor(created_at: datetime, run_id: str) -> str:
    """The cursor after a run in the newest-first run list."""
    return encode_cursor([created_at.isoformat(), run_id])


def decode_run_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    position = decode_cursor(cursor)
    try:
        return datetime.fromisoformat(position[0]), str(position[1])
    except (IndexError, TypeError, ValueError):
        raise UserError("cursor: not a cursor this server gave out") from None
