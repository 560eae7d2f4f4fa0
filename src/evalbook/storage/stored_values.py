"""A result's values made fit to store, whatever the model answered.

Model output is hostile, and a database has limits: PostgreSQL refuses a NUL character in
text and in jsonb, and a jsonb value over 256 MB; SQLite takes anything, but a row of
hundreds of megabytes slows every page and export that reads it. Before, one such answer
failed the whole batch of results being written, and with it the run. Now each value of a
result (its texts, its JSON body, each score's evidence) is checked on its own:

- over ``EVALBOOK_MAX_STORED_BYTES`` (:func:`evalbook.config.stored_bytes_limit`), it is
  stored truncated, ending with a marker that says what was cut and why;
- a NUL character becomes U+FFFD (the same on both databases, so a run reads the same
  wherever it is stored).

Every change is listed in the result's body under ``stored_changes`` (field, change, bytes,
limit) and logged as a warning naming the run and the case. Scoring already happened on
the whole answer; only the record is cut.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic_core

from evalbook.plain_text import get_logger

__all__ = [
    "Changes",
    "JsonText",
    "cacheable",
    "fit_evidence",
    "fit_json_body",
    "fit_text",
    "has_json_nul",
    "json_text",
    "report",
    "without_nul",
]

log = get_logger("evalbook.storage")

Changes = list[dict[str, Any]]


class JsonText(str):
    """A JSON document already serialised (by pydantic's Rust serialiser, about ten times
    faster than ``json.dumps`` of ``model_dump`` output on the write path); written as is."""

    __slots__ = ()


def json_text(value: Any) -> JsonText:
    return JsonText(pydantic_core.to_json(value).decode())


#: ``\u0000`` in JSON text, not preceded by an escaping backslash.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def has_json_nul(text: str) -> bool:
    """Whether JSON text holds a NUL character (``\\u0000``, not an escaped backslash
    followed by ``u0000``)."""
    return "\\u0000" in text and _JSON_NUL.search(text) is not None


#: What a body field becomes when it is too large: the same type, saying so.
_PLACEHOLDERS: dict[str, Any] = {
    "input": lambda marker: {"evalbook_truncated": marker},
    "messages": lambda marker: [{"role": "user", "content": f"[{marker}]"}],
    "output_structured": lambda marker: {"evalbook_truncated": marker},
    "choices": lambda marker: None,
    "tags": lambda marker: [],
    "attempts": lambda marker: [],
    "provider_evidence": lambda marker: None,
}


def _size(text: str, limit: int) -> int:
    """Bytes of ``text`` in UTF-8 (counted only when it might be over ``limit``)."""
    return len(text) if 4 * len(text) <= limit else len(text.encode())


def _marker(field: str, size: int, limit: int) -> str:
    return (
        f"evalbook: {field} truncated: {size:,} bytes, over the storage limit of {limit:,}"
        " (EVALBOOK_MAX_STORED_BYTES)"
    )


def fit_text(value: str | None, field: str, limit: int, changes: Changes) -> str | None:
    """``value`` as stored: without NUL, and cut (with a marker) past ``limit`` bytes."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
        changes.append({"field": field, "change": "NUL replaced by U+FFFD"})
    size = _size(value, limit)
    if size <= limit:
        return value
    marker = f"\n[{_marker(field, size, limit)}]"
    keep = max(0, limit - len(marker.encode()))
    changes.append({"field": field, "change": "truncated", "bytes": size, "limit": limit})
    return value.encode()[:keep].decode(errors="ignore") + marker


def _json_without_nul(text: JsonText, field: str, changes: Changes) -> JsonText:
    if "\\u0000" not in text:
        return text
    fixed = _JSON_NUL.sub(r"\1\\ufffd", text)
    if fixed != text:
        changes.append({"field": field, "change": "NUL replaced by U+FFFD"})
    return JsonText(fixed)


def fit_json_body(body: dict[str, Any], limit: int, changes: Changes) -> JsonText:
    """A result's JSON body as stored: its largest fields replaced by a placeholder of
    their type until it fits in ``limit`` bytes; ``changes`` added under
    ``stored_changes``."""
    text = json_text(body)
    size = _size(text, limit)
    if size > limit:
        sizes = {k: len(json_text(v)) for k, v in body.items() if k in _PLACEHOLDERS}
        for field in sorted(sizes, key=sizes.__getitem__, reverse=True):
            marker = _marker(field, sizes[field], limit)
            body[field] = _PLACEHOLDERS[field](marker)
            if body[field] is None:
                del body[field]
            changes.append(
                {"field": field, "change": "truncated", "bytes": sizes[field], "limit": limit}
            )
            text = json_text(body)
            if _size(text, limit) <= limit:
                break
    text = _json_without_nul(text, "body", changes)
    if changes:
        body["stored_changes"] = changes
        text = _json_without_nul(json_text(body), "body", [])
    return text


def fit_evidence(evidence: JsonText, field: str, limit: int, changes: Changes) -> JsonText:
    """A score's evidence as stored: when over ``limit``, its rationale cut and its details
    replaced by a marker (still valid evidence)."""
    size = _size(evidence, limit)
    if size > limit:
        marker = _marker(field, size, limit)
        changes.append({"field": field, "change": "truncated", "bytes": size, "limit": limit})
        evidence = json_text(
            {"rationale": f"[{marker}]", "details": {"evalbook_truncated": marker}}
        )
    return _json_without_nul(evidence, field, changes)


def without_nul(value: Any) -> Any:
    """``value`` (JSON-like) with NUL characters in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


def report(run_id: str, case_id: str, changes: Changes) -> None:
    """One warning per result whose record was changed to fit."""
    if changes:
        what = ", ".join(f"{c['field']} ({c['change']})" for c in changes)
        log.warning("run %s case %r: stored with changes to fit: %s", run_id, case_id, what)


def cacheable(entries: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The response-cache entries that can be stored as they are. An answer with a NUL or
    past ``limit`` is not cached: changed, it would be served as what the model said."""
    kept = []
    for entry in entries:
        text = json_text(entry.get("response"))
        if "\\u0000" in text or _size(text, limit) > limit:
            log.warning(
                "a response of %s is not cached: it cannot be stored as it is", entry.get("model")
            )
            continue
        kept.append(entry)
    return kept
