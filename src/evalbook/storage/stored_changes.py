"""What was changed in a result to store it, read back for the pages and the API.

A result whose output (or prompt, input, evidence …) was past the storage limit is
stored truncated, and a NUL character is stored as U+FFFD (``stored_values.py``, which
lists every change under ``stored_changes`` in the result's JSON body). A reader must be
told: the record is not what the model answered. The inspector and
``GET /api/runs/{id}/results`` read the changes here, for the results they show only
(the changes are picked out of the body by the database, not the body loaded whole);
the exports pair each result they write with its changes (``with_stored_changes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from evalbook.core.result import Result
from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["StoredChange", "format_bytes", "stored_changes_of", "with_stored_changes"]

#: Results asked about in one query.
_CHUNK = 500


def format_bytes(n: int) -> str:
    """``512 bytes``, ``20 KiB``, ``40 MiB``, ``1.5 GiB`` (one decimal where it matters)."""
    if n < 1024:
        return f"{n:,} byte{'s' if n != 1 else ''}"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:,.1f}".removesuffix(".0") + f" {unit}"


@dataclass(frozen=True)
class StoredChange:
    """One change made to a result's value to store it: ``field`` (``output``, ``prompt``,
    ``input``, ``scores.<name>.evidence`` …), ``change`` (``truncated`` or ``NUL replaced
    by U+FFFD``) and, for a cut, the value's size and the limit in bytes."""

    field: str
    change: str
    bytes: int | None = None
    limit: int | None = None

    @property
    def truncated(self) -> bool:
        return self.change == "truncated"

    @property
    def note(self) -> str:
        """One line for a reader, e.g. ``output truncated from 40 MiB to 16 MiB when
        stored``."""
        if self.truncated and self.bytes is not None and self.limit is not None:
            return (
                f"{self.field} truncated from {format_bytes(self.bytes)} to"
                f" {format_bytes(self.limit)} when stored"
            )
        if self.change.startswith("NUL"):
            return f"{self.field}: NUL characters replaced by U+FFFD when stored"
        return f"{self.field}: {self.change} when stored"

    @classmethod
    def of(cls, raw: Any) -> StoredChange | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
            return None
        size, limit = raw.get("bytes"), raw.get("limit")
        return cls(
            field=raw["field"],
            change=str(raw.get("change") or "changed"),
            bytes=size if isinstance(size, int) else None,
            limit=limit if isinstance(limit, int) else None,
        )


def stored_changes_of(store: Store, result_ids: Sequence[str]) -> dict[str, list[StoredChange]]:
    """The stored changes of each of ``result_ids`` that has any (by result id)."""
    r = t.results.c
    found: dict[str, list[StoredChange]] = {}
    ids = list(dict.fromkeys(result_ids))
    with store.engine.connect() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            query = sa.select(r.id, r.body["stored_changes"]).where(r.id.in_(chunk))
            for result_id, raw in conn.execute(query):
                if not isinstance(raw, list):
                    continue
                changes = [c for c in (StoredChange.of(item) for item in raw) if c is not None]
                if changes:
                    found[result_id] = changes
    return found


def with_stored_changes(
    store: Store, results: Iterable[Result]
) -> Iterator[tuple[Result, list[StoredChange]]]:
    """Each of ``results`` with its stored changes (``[]`` for none), read a chunk of
    results at a time so that a long run still streams."""
    chunk: list[Result] = []
    for result in results:
        chunk.append(result)
        if len(chunk) == _CHUNK:
            yield from _paired(store, chunk)
            chunk = []
    yield from _paired(store, chunk)


def _paired(store: Store, chunk: list[Result]) -> Iterator[tuple[Result, list[StoredChange]]]:
    found = stored_changes_of(store, [r.id for r in chunk]) if chunk else {}
    for result in chunk:
        yield result, found.get(result.id, [])
