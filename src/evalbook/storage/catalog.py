"""Which suites and prompts a workspace has: the ones it registered, and the ones its runs
used (runs made by the CLI belong to the ``default`` workspace without registering).

Suite definitions are content-addressed and shared by every workspace; only the mapping
``(workspace, suite id, version) → suite hash`` is per workspace, and it is immutable:
a version, once registered, always means the same cases. Prompt versions belong to a
workspace: another workspace may number its own prompt of the same name differently, and
is never told that this one exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa

from evalbook.core.suite import Case, DerivedMetric, Suite
from evalbook.storage import tables as t
from evalbook.storage.definitions import write_prompt_versions, write_suite
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "PromptRef",
    "SuiteRef",
    "prompt_refs",
    "register_suite",
    "registered_derived_metrics",
    "suite_cases",
    "suite_refs",
    "suite_run_counts",
]

Registration = Literal["created", "exists", "conflict"]


@dataclass(frozen=True)
class SuiteRef:
    """One suite version a workspace has (oldest registration first within a suite)."""

    suite_id: str
    version: str
    hash: str
    name: str
    case_count: int
    created_at: datetime


@dataclass(frozen=True)
class PromptRef:
    name: str
    version: int
    hash: str
    created_at: datetime


def register_suite(
    store: Store,
    workspace_id: str,
    suite: Suite,
    *,
    conn: sa.Connection | None = None,
    suite_hash: str | None = None,
) -> tuple[str, Registration]:
    """Record ``suite`` and all its prompt versions, and map it into the workspace (in
    the write transaction ``conn`` when given: e.g. the one that records a run of it;
    ``suite_hash``: ``suite.hash`` when the caller has taken it already).

    Returns the suite hash and ``created``, ``exists`` (the same content was registered
    before: the registration takes this one's derived metrics, which are not part of the
    content) or ``conflict`` (this id and version already mean other cases here; the
    hash returned is theirs, nothing changes). A prompt version this workspace recorded
    with other content (prompt versions are immutable) raises
    :class:`~evalbook.errors.UserError`.
    """
    if suite_hash is None:
        suite_hash = suite.hash  # before the write transaction: hashing a big suite is long
    if conn is None:
        with store.write() as own:
            return _register(store, own, workspace_id, suite, suite_hash)
    return _register(store, conn, workspace_id, suite, suite_hash)


def _register(
    store: Store, conn: sa.Connection, workspace_id: str, suite: Suite, suite_hash: str
) -> tuple[str, Registration]:
    now = datetime.now(UTC)
    ws = t.workspace_suites.c
    this = (ws.workspace_id == workspace_id, ws.suite_id == suite.id, ws.version == suite.version)
    mapped = sa.select(ws.suite_hash).where(*this)
    derived = [m.model_dump() for m in suite.derived_metrics] or None
    found = conn.execute(sa.select(ws.suite_hash, ws.derived_metrics).where(*this)).first()
    if found is not None:
        existing, stored = found
        if existing != suite_hash:
            return existing, "conflict"
        if stored != derived:  # (most registrations repeat themselves: no write then)
            update = sa.update(t.workspace_suites).where(*this)
            conn.execute(update.values(derived_metrics=derived))
        return existing, "exists"
    write_prompt_versions(store, conn, workspace_id, suite.prompt.name, suite.prompt.versions, now)
    write_suite(store, conn, suite, now, suite_hash)
    store.insert_ignore(
        conn,
        t.workspace_suites,
        [
            {
                "workspace_id": workspace_id,
                "suite_id": suite.id,
                "version": suite.version,
                "suite_hash": suite_hash,
                "created_at": now,
                # Not in the suite's content hash: kept with the registration.
                "derived_metrics": derived,
            }
        ],
    )
    winner = conn.execute(mapped).scalar_one()
    if winner != suite_hash:  # a concurrent registration of other content won
        return winner, "conflict"
    return suite_hash, "created"


def registered_derived_metrics(
    store: Store, workspace_id: str, suite_id: str, version: str
) -> list[DerivedMetric]:
    """The ``derived_metrics:`` the workspace registered this suite version with (none
    when it did not register it, or registered it before they were kept: schema 0010)."""
    ws = t.workspace_suites.c
    query = sa.select(ws.derived_metrics).where(
        ws.workspace_id == workspace_id, ws.suite_id == suite_id, ws.version == version
    )
    with store.reader.connect() as conn:
        stored = conn.execute(query).scalar_one_or_none()
    return [DerivedMetric.model_validate(m) for m in stored or ()]


def suite_refs(store: Store, workspace_id: str, suite_id: str | None = None) -> list[SuiteRef]:
    """Every suite version of the workspace (optionally of one suite), by suite id and
    then by first appearance; registered versions and versions its runs used."""
    ws, s, r = t.workspace_suites.c, t.suites.c, t.runs.c
    registered = (
        sa.select(s.suite_id, s.version, s.hash, s.name, s.case_count, ws.created_at)
        .join(t.suites, s.hash == ws.suite_hash)
        .where(ws.workspace_id == workspace_id)
    )
    # A version's first run, per suite version: one lookup in the index
    # (workspace_id, suite_hash, created_at) each, never a pass over the workspace's runs.
    first_run = (
        sa.select(sa.func.min(r.created_at))
        .where(r.workspace_id == workspace_id, r.suite_hash == s.hash)
        .scalar_subquery()
    )
    used = sa.select(s.suite_id, s.version, s.hash, s.name, s.case_count, first_run).where(
        first_run.is_not(None)
    )
    if suite_id is not None:
        registered = registered.where(s.suite_id == suite_id)
        used = used.where(s.suite_id == suite_id)
    # Each statement its own snapshot on PostgreSQL (no BEGIN and ROLLBACK round trips):
    # a version registered between the two is listed by one of them or by the next call.
    with store.reader.connect() as conn:
        rows = [*conn.execute(registered).all(), *conn.execute(used).all()]
    first: dict[tuple[str, str], SuiteRef] = {}
    for sid, version, h, name, count, at in sorted(rows, key=lambda row: as_utc(row[5])):
        # A registered version wins over a run's suite of the same id and version.
        first.setdefault((sid, version), SuiteRef(sid, version, h, name, count, as_utc(at)))
    return sorted(first.values(), key=lambda ref: (ref.suite_id, ref.created_at))


def prompt_refs(store: Store, workspace_id: str, name: str | None = None) -> list[PromptRef]:
    """Every prompt version of the workspace (optionally of one prompt), by name and
    version: those of its registered suites and those its runs used."""
    p = t.prompt_versions.c
    query = (
        sa.select(p.prompt_name, p.version, p.hash, p.created_at)
        .where(p.workspace_id == workspace_id)
        .order_by(p.prompt_name, p.version)
    )
    if name is not None:
        query = query.where(p.prompt_name == name)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [PromptRef(pname, version, h, as_utc(at)) for pname, version, h, at in rows]


def suite_run_counts(store: Store, workspace_id: str) -> dict[str, int]:
    """``suite id → how many runs`` of the workspace."""
    c = t.runs.c
    query = (
        sa.select(c.suite_id, sa.func.count())
        .where(c.workspace_id == workspace_id)
        .group_by(c.suite_id)
    )
    with store.engine.connect() as conn:
        return {sid: int(n) for sid, n in conn.execute(query)}


def suite_cases(store: Store, ref: SuiteRef, start: int, limit: int) -> list[Case]:
    """Cases ``start`` … ``start + limit`` of a suite version, in suite order (the parsed
    suite is cached by the store: paging does not parse it again)."""
    return list(store.get_suite(ref.hash).cases[start : start + limit])
