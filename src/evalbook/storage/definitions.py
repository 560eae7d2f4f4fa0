"""The definitions a run stands on, written inside a caller's write transaction: prompt
versions (immutable, per workspace) and suites (content-addressed). The one writer of each,
used by a run's start (``Store.save_definitions``) and by registering a suite
(``catalog.register_suite``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from evalbook.config import suite_bytes_limit
from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import PromptVersion, Suite, case_json
from evalbook.errors import UserError
from evalbook.storage import tables as t
from evalbook.storage.db import RawJSON
from evalbook.storage.definition_stream import streamed_size, write_streamed
from evalbook.storage.stored_values import has_json_nul

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["KnownDefinitions", "write_definitions", "write_prompt_versions", "write_suite"]

#: A definition row's identity: ``("suite", hash)``, ``("model", hash)`` or
#: ``("prompt", workspace, name, version, hash)``.
DefinitionKey = tuple[str | int, ...]


class KnownDefinitions:
    """The definition rows a store has seen committed, so that a run of a known suite,
    prompt version and model config writes none of them again.

    Sound because those rows are immutable and never deleted: a suite and a model config
    are content-addressed, a workspace's prompt version is refused with other content.
    Keys are added only once the transaction that wrote (or found) them has committed.
    What it saves: of the eight statements that submitted a run of a registered suite,
    the prompt versions' read and insert-or-ignore, the suite's lookup and the model
    config's insert-or-ignore (when the model is known too), each a round trip to
    PostgreSQL while a pool thread holds a connection."""

    #: Keys kept at most (then forgotten all at once: a store of a server that has seen
    #: this many definitions only writes some of them again).
    LIMIT = 4096

    def __init__(self) -> None:
        self._keys: set[DefinitionKey] = set()

    def __contains__(self, key: DefinitionKey) -> bool:
        return key in self._keys

    def note(self, keys: Sequence[DefinitionKey]) -> None:
        """Remember ``keys``: their rows are committed."""
        if len(self._keys) + len(keys) > self.LIMIT:
            self._keys.clear()
        self._keys.update(keys)


def write_definitions(
    store: Store,
    conn: sa.Connection,
    suite: Suite,
    prompt_name: str,
    version: PromptVersion,
    model: ModelConfig,
    *,
    workspace_id: str,
    now: datetime,
    suite_hash: str | None,
    recorded: bool,
) -> tuple[str, list[DefinitionKey]]:
    """Record what a run of ``suite`` stands on in the write transaction ``conn``: the
    prompt version of ``workspace_id``, the suite (``suite_hash``: its hash when the
    caller has it), the model config; ``recorded``: the suite and its prompt versions
    are recorded already (a registration in the same transaction). Rows the store knows
    committed (:class:`KnownDefinitions`) are not written again. Returns the suite's hash
    and the keys to note once the transaction commits."""
    known = store.known_definitions
    if suite_hash is None:
        suite_hash = suite.hash
    model_hash = model.hash  # (a dump and a hash of the config: taken once)
    keys: list[DefinitionKey] = [
        ("prompt", workspace_id, prompt_name, version.version, version.hash),
        ("suite", suite_hash),
        ("model", model_hash),
    ]
    prompt_key, suite_key, model_key = keys
    if not recorded:
        if prompt_key not in known:
            write_prompt_versions(store, conn, workspace_id, prompt_name, [version], now)
        if suite_key not in known:
            write_suite(store, conn, suite, now, suite_hash)
    if model_key not in known:
        store.insert_ignore(
            conn,
            t.model_configs,
            [
                {
                    "hash": model_hash,
                    "provider": model.provider,
                    "name": model.name,
                    "config": model.model_dump(mode="json"),
                    "created_at": now,
                }
            ],
        )
    return suite_hash, keys


def write_prompt_versions(
    store: Store,
    conn: sa.Connection,
    workspace_id: str,
    name: str,
    versions: Sequence[PromptVersion],
    now: datetime,
) -> None:
    """Record prompt versions of ``workspace_id`` in the write transaction ``conn``.
    They are immutable: a version the workspace recorded with other content raises
    :class:`UserError` and nothing is written."""
    p = t.prompt_versions.c
    query = sa.select(p.version, p.hash).where(
        p.workspace_id == workspace_id, p.prompt_name == name
    )
    recorded = dict(conn.execute(query).all())
    for v in versions:
        if recorded.get(v.version, v.hash) != v.hash:
            raise UserError(
                f"prompt {name!r} version {v.version} is already recorded with different"
                " content; prompt versions are immutable — number the new one"
                f" {max(recorded) + 1} (or rename the prompt)"
            )
    store.insert_ignore(
        conn,
        t.prompt_versions,
        [
            {
                "workspace_id": workspace_id,
                "prompt_name": name,
                "version": v.version,
                "hash": v.hash,
                "body": v.model_dump(mode="json"),
                "created_at": now,
            }
            for v in versions
        ],
    )


def write_suite(
    store: Store, conn: sa.Connection, suite: Suite, now: datetime, suite_hash: str | None = None
) -> str:
    """Record ``suite`` (content-addressed: a suite already recorded is kept as it is)
    in the write transaction ``conn``; its content hash. The one suite writer.

    The definition is written as the canonical JSON its hash is taken of, assembled from
    each case's (:meth:`Suite.definition_json`): a 100k-case suite is not dumped to dicts
    and serialised again; a big dataset suite's is written in pieces, no whole copy of it
    beside its cases (:mod:`evalbook.storage.definition_stream`). ``suite_hash``:
    ``suite.hash`` when the caller has it already (a big suite's hash reads every case)."""
    if suite_hash is None:
        suite_hash = suite.hash  # piece by piece: the text is made only to be written
    stored = conn.execute(sa.select(t.suites.c.hash).where(t.suites.c.hash == suite_hash))
    if stored.first() is not None:  # a re-run of the same suite: not serialised again
        return suite_hash
    row = {
        "hash": suite_hash,
        "suite_id": suite.id,
        "name": suite.name,
        "version": suite.version,
        "source": suite.source,
        "case_count": len(suite.cases),
        "created_at": now,
    }
    size = streamed_size(suite)
    if size is not None and write_streamed(conn, suite, row, size):
        return suite_hash  # written in pieces: see definition_stream
    text = _fitting(suite)
    store.insert_ignore(conn, t.suites, [{**row, "definition": RawJSON(text)}])
    if len(text) >= DETACH_CHARS:
        # The driver keeps what it sent as long as its connection lives (SQLite the
        # statement's copy of the value, libpq its grown send buffer): 226 MB of a
        # 200 MB dataset's run, to its end. This connection is closed once its
        # transaction ends instead of going back to the pool.
        conn.connection.detach()
    return suite_hash


#: A definition this long (characters) closes the connection that wrote it.
DETACH_CHARS = 8 << 20


def _fitting(suite: Suite) -> str:
    """The suite's definition text. Refused (nothing is recorded then) when it holds a
    NUL character, naming the case, or is over :func:`suite_bytes_limit`, naming its
    largest case."""
    text = suite.definition_json()
    if has_json_nul(text):  # PostgreSQL refuses it; refused alike on SQLite
        where = next((c.id for c in suite.cases if has_json_nul(case_json(c))), None)
        raise UserError(
            f"suite {suite.id!r} holds a NUL character (U+0000)"
            + (f" in case {where!r}" if where is not None else " outside its cases")
            + ": a suite is recorded exactly as written, and no database here stores one"
        )
    limit = suite_bytes_limit()
    if 4 * len(text) <= limit:  # at most 4 bytes a character: fits without counting
        return text
    size = utf8_length(text)
    if size <= limit:
        return text
    largest = max(suite.cases, key=lambda c: len(case_json(c)), default=None)
    which = (
        f"; its largest case is {largest.id!r} ({len(case_json(largest).encode()):,} bytes)"
        if largest is not None
        else ""
    )
    raise UserError(
        f"suite {suite.id!r} is {size:,} bytes as recorded, over the limit of {limit:,}"
        f" (EVALBOOK_MAX_SUITE_BYTES){which}: split it into several suites"
    )


def utf8_length(text: str) -> int:
    """The length of ``text`` in UTF-8, counted without encoding it whole (a big suite's
    definition is not copied to be measured)."""
    if text.isascii():
        return len(text)
    step = 1 << 20
    return sum(len(text[at : at + step].encode("utf-8")) for at in range(0, len(text), step))
