"""The one query layer: the CLI, the executor, the API and the web pages all call these.

Runs are never mutated after completion except for appended feedback; results are
upserted by identity ``(run_id, case_id, epoch)`` so that a retried or resumed write never
duplicates a case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from evalbook.config import database_url, stored_bytes_limit
from evalbook.core.heap import collector_paused
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import Result
from evalbook.core.run import RunRecord
from evalbook.core.suite import PromptVersion, Suite
from evalbook.errors import NotFoundError, StorageError, StorageFull, UserError
from evalbook.plain_text import get_logger
from evalbook.storage import tables as t
from evalbook.storage.bulk import (
    ResultRows,
    ResultWriterSQL,
    RunNotRecorded,
    StoredMeanwhile,
    sqlite_datetime,
)
from evalbook.storage.columns import CaseChunk, ScoreChunk, case_chunks, score_chunks
from evalbook.storage.db import ensure_schema, from_json, make_engine, to_json, writer
from evalbook.storage.definitions import KnownDefinitions, write_definitions
from evalbook.storage.facts import ResultFact, ScoreFact, read_facts
from evalbook.storage.full import is_full
from evalbook.storage.hydrate import hydrate
from evalbook.storage.redis_cache import redis_cache_from_env
from evalbook.storage.rows import row_to_run, run_to_row
from evalbook.storage.sqlite_rows import SQLiteRows

log = get_logger("evalbook.storage")

_SUITES_KEPT = 32

#: One lock per SQLite database file, shared by every Store of this process on it.
_SQLITE_WRITE_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _sqlite_write_lock(url: sa.URL) -> threading.RLock:
    key = str(url.database or "")
    with _LOCKS_GUARD:
        return _SQLITE_WRITE_LOCKS.setdefault(key, threading.RLock())


#: Cache entries into SQLite, many to a statement (see ``storage/sqlite_rows.py``).
_CACHE_INSERT = SQLiteRows(
    'INSERT INTO cache ("key", scope, provider, model, response, created_at) VALUES ',
    6,
    " ON CONFLICT DO NOTHING",
)


def _cache_rows(
    entries: Sequence[dict[str, Any]], now: datetime | None = None
) -> list[tuple[Any, ...]]:
    """Cache entries as the values of ``_CACHE_INSERT`` (SQLite)."""
    at = sqlite_datetime(now or _now())
    return [
        (e["key"], e["scope"], e["provider"], e["model"], to_json(e["response"]), at)
        for e in entries
    ]


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """Typed queries over one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = writer(engine)
        #: The engine for reads of one statement (a list page, one run). On PostgreSQL
        #: in autocommit: the statement is its own snapshot, and no BEGIN and ROLLBACK
        #: round trips go with it (a busy list page of runs: 208 → 232 requests/s).
        self.reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else engine
        )
        self._write_lock = _sqlite_write_lock(engine.url) if self.dialect == "sqlite" else None
        self._bulk = ResultWriterSQL(self.dialect)
        self._dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        #: Responses go to Redis (with a TTL) instead of the ``cache`` table when configured.
        self.redis = redis_cache_from_env()
        self._suites: dict[str, Suite] = {}
        #: Suites, prompt versions and model configs seen committed: not written again.
        self.known_definitions = KnownDefinitions()

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        engine = make_engine(url or database_url())
        if migrate:
            ensure_schema(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
        if self.redis is not None:
            self.redis.close()

    @property
    def location(self) -> str:
        from evalbook.storage.db import redact_url

        return redact_url(str(self.engine.url))

    # -- transactions: the one idiom of the query modules of storage/ -------------------

    def write(self) -> AbstractContextManager[sa.Connection]:
        """A write transaction, committed at the end of the block (on SQLite it takes the
        write lock up front, so that two writers never deadlock upgrading a read)."""
        if self._write_lock is None:
            return self._writer.begin()
        return self._sqlite_write()

    @contextmanager
    def _sqlite_write(self) -> Iterator[sa.Connection]:
        # SQLite has one writer at a time. Threads of this process wait for it on a lock
        # of ours, woken as soon as it is free; waiting in SQLite's busy handler instead
        # means sleeping in growing steps (up to 100 ms each) and retrying, which left
        # some of 20 concurrent API submissions waiting over a second for a free lock.
        # Other processes still meet in SQLite's busy timeout.
        assert self._write_lock is not None
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    def read(self) -> AbstractContextManager[sa.Connection]:
        """A connection for reading."""
        return self.engine.connect()

    def insert(self, table: sa.Table) -> Any:
        """An ``INSERT`` of the database's dialect (with ``on_conflict_do_…``)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def insert_ignore(
        self, conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Insert ``rows``, skipping those whose key is already recorded."""
        if rows:
            conn.execute(self.insert(table).on_conflict_do_nothing(), list(rows))

    # -- definitions ---------------------------------------------------------------------

    def save_definitions(
        self,
        suite: Suite,
        prompt_name: str,
        version: PromptVersion,
        model: ModelConfig,
        *,
        workspace_id: str,
        run: RunRecord | None = None,
        run_columns: Mapping[str, Any] | None = None,
        first: Callable[[sa.Connection], bool] | None = None,
    ) -> str:
        """Record the suite, the prompt version (of ``workspace_id``) and the model config a
        run uses, and ``run`` itself if given (its ``suite_hash`` is ``suite.hash``, taken
        once by the caller; ``run_columns``: more columns of its row, e.g. the queue's
        ``queue.queue_columns``), in one transaction; return the suite's content hash. A
        prompt version is immutable: other content under a ``(name, version)`` the
        workspace has is refused (and then ``run`` is not recorded). ``first(conn)``: a
        write of the caller's made first in the same transaction (a suite's registration);
        true when it recorded the suite and its prompt versions (not written again)."""
        now = _now()
        # See core/heap.py: the collector's passes were 9/10 of dumping a 100k-case suite.
        with collector_paused(), self.write() as conn:
            recorded = first is not None and first(conn)
            suite_hash, keys = write_definitions(
                self, conn, suite, prompt_name, version, model, workspace_id=workspace_id,
                now=now, suite_hash=run.suite_hash if run is not None else None,
                recorded=recorded,
            )  # fmt: skip
            if run is not None:
                conn.execute(sa.insert(t.runs), [{**run_to_row(run), **(run_columns or {})}])
        self.known_definitions.note(keys)  # committed
        return suite_hash

    def get_prompt_version(
        self, prompt_name: str, version: int, *, workspace_id: str
    ) -> PromptVersion:
        """A prompt version of ``workspace_id`` (another workspace's is not found)."""
        query = sa.select(t.prompt_versions.c.body).filter_by(
            workspace_id=workspace_id, prompt_name=prompt_name, version=version
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"no prompt {prompt_name!r} version {version} recorded")
        return PromptVersion.model_validate(row[0])

    def get_suite(self, suite_hash: str) -> Suite:
        """A recorded suite. Suites are immutable and content-addressed, so the parsed
        ones are kept (a few) for the next caller: a server asks for the same few often."""
        cached = self._suites.get(suite_hash)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.suites.c.definition).where(t.suites.c.hash == suite_hash)
            ).first()
        if row is None:
            raise NotFoundError(f"no suite with hash {suite_hash}")
        with collector_paused():
            suite = Suite.model_validate(row[0])
        self._suites[suite_hash] = suite
        while len(self._suites) > _SUITES_KEPT:
            self._suites.pop(next(iter(self._suites)))
        return suite

    # -- runs ----------------------------------------------------------------------------

    def insert_run(self, run: RunRecord) -> None:
        with self.write() as conn:
            conn.execute(sa.insert(t.runs), [run_to_row(run)])

    def update_run(self, run: RunRecord) -> None:
        """Write what execution changes. Ownership (workspace) and the archive mark are
        not the executor's to change, and feedback keeps its own summary up to date."""
        row = run_to_row(run)
        run_id = row.pop("id")
        for kept in ("workspace_id", "archived_at", "feedback_scores"):
            row.pop(kept)
        with self.write() as conn:
            conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(**row))

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or by an unambiguous id prefix (at least 4 characters)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).first()
            if row is None and len(run_id) >= 4:
                rows = conn.execute(
                    sa.select(t.runs)
                    .where(t.runs.c.id.startswith(run_id, autoescape=True))
                    .limit(2)
                ).all()
                if len(rows) > 1:
                    raise UserError(f"run id prefix {run_id!r} is ambiguous; give more characters")
                row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"no run {run_id!r} in {self.location}")
        return row_to_run(row)

    def list_runs(
        self,
        *,
        suite_id: str | None = None,
        status: str | None = None,
        alias: str | None = None,
        tag: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs of every workspace, archived or not, most recent first (the local view).
        The query is ``runs.list_workspace_runs``, the one run listing."""
        from evalbook.storage.runs import RunFilter, list_workspace_runs

        flt = RunFilter(suite_id=suite_id, status=status, alias=alias, tag=tag, archived=None)
        return [w.run for w in list_workspace_runs(self, None, flt, limit=limit)]

    def unfinished_runs(self) -> list[RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.runs).where(t.runs.c.status.in_(["pending", "running"]))
            ).all()
        return [row_to_run(r) for r in rows]

    # -- results -------------------------------------------------------------------------

    @property
    def cache_with_results(self) -> bool:
        """Whether :meth:`save_results` takes the response-cache entries of its results
        into its own transaction (SQLite with the cache in the database)."""
        return self.dialect == "sqlite" and self.redis is None

    def save_results(
        self, results: Sequence[tuple[Result, int]], cache: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Upsert ``(result, seq)`` pairs with their scores, in one transaction.

        ``cache``: response-cache entries (:meth:`cache_put_many`'s) to record in the same
        transaction, when :attr:`cache_with_results` (one commit per batch instead of two:
        a commit was a sixth of the writer's CPU). They go in after the results, inside a
        savepoint: entries that fail to insert are rolled back to it, with a warning, and
        the results still commit (a cache that fails costs only reuse)."""
        if cache and not self.cache_with_results:
            raise ValueError("this store records cache entries apart: use cache_put_many")
        if not results and not cache:
            return
        rows = ResultRows(results, stored_bytes_limit(), in_key_order=self.dialect == "postgresql")
        try:
            try:
                self._write_results(rows, probe=self._bulk.probe, cache=cache)
            except StoredMeanwhile:  # rolled back: merge what is stored
                self._write_results(rows, probe=True, cache=cache)
        except (RunNotRecorded, sa.exc.SQLAlchemyError, self._dbapi_error) as exc:
            if is_full(exc):
                raise StorageFull(
                    f"{self.location} is full: saving {len(rows)} results failed"
                    " (nothing of them was written)"
                ) from exc
            raise StorageError(f"saving {len(rows)} results failed: {exc}") from exc

    def _write_results(
        self, rows: ResultRows, *, probe: bool, cache: Sequence[dict[str, Any]] = ()
    ) -> None:
        with self.write() as conn:
            self._bulk.write(conn, rows, probe=probe)
            self.insert_ignore(conn, t.blobs, list(rows.blobs.values()))
            if cache:
                self._cache_within(conn, cache)

    def _cache_within(self, conn: sa.Connection, entries: Sequence[dict[str, Any]]) -> None:
        """SQLite: insert cache entries in the caller's transaction, in a savepoint."""
        cursor = conn.connection.cursor()
        cursor.execute("SAVEPOINT response_cache")
        try:
            _CACHE_INSERT.write(cursor, _cache_rows(entries))
        except self._dbapi_error as exc:
            cursor.execute("ROLLBACK TO response_cache")
            log.warning("%d responses were not cached: %s", len(entries), exc)
        cursor.execute("RELEASE response_cache")

    def result_statuses(self, run_id: str) -> dict[tuple[str, int], str]:
        """``(case_id, epoch) → status`` of every recorded result of a run."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.results.c.case_id, t.results.c.epoch, t.results.c.status).where(
                    t.results.c.run_id == run_id
                )
            ).all()
        return {(r.case_id, r.epoch): r.status for r in rows}

    def iter_results(self, run_id: str, *, batch_size: int = 1000) -> Iterator[Result]:
        """Results in plan order, streamed in batches (bounded memory for big runs)."""
        last_seq = -1
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.results)
                    .where(t.results.c.run_id == run_id, t.results.c.seq > last_seq)
                    .order_by(t.results.c.seq)
                    .limit(batch_size)
                ).all()
                if not rows:
                    return
                results = hydrate(conn, rows)
            yield from results
            last_seq = rows[-1].seq

    def get_result(self, run_id: str, case_id: str, epoch: int = 0) -> Result:
        """One result by identity (an indexed lookup, not a scan of the run)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.results).where(
                    t.results.c.run_id == run_id,
                    t.results.c.case_id == case_id,
                    t.results.c.epoch == epoch,
                )
            ).first()
            if row is None:
                raise NotFoundError(
                    f"run {run_id} has no result for case {case_id!r} epoch {epoch}"
                )
            return hydrate(conn, [row])[0]

    def get_blob(self, sha256: str) -> tuple[str, bytes]:
        """``(media_type, bytes)`` of a stored blob (screenshots, case images)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.blobs).where(t.blobs.c.sha256 == sha256)).first()
        if row is None:
            raise NotFoundError(f"no blob {sha256} is stored")
        return row.media_type, bytes(row.data)

    # -- metrics -------------------------------------------------------------------------

    def save_metrics(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        with self.write() as conn:
            conn.execute(sa.delete(t.metrics).where(t.metrics.c.run_id == run_id))
            if rows:
                conn.execute(sa.insert(t.metrics), [{"run_id": run_id, **r} for r in rows])

    def get_metrics(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.metrics)
                .where(t.metrics.c.run_id == run_id)
                .order_by(t.metrics.c.scope, t.metrics.c.name)
            ).all()
        return [dict(r._mapping) for r in rows]

    # -- response cache ------------------------------------------------------------------

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        if self.redis is not None:
            return self.redis.get_many(keys)
        if not keys:
            return {}
        if self.dialect == "sqlite":  # the DB-API directly: see cache_put_many
            marks = ", ".join("?" * len(keys))
            with self.engine.connect() as conn:
                cursor = conn.connection.cursor()
                cursor.execute(f'SELECT "key", response FROM cache WHERE "key" IN ({marks})', keys)
                found = cursor.fetchall()
            return {key: from_json(text) for key, text in found}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.cache.c.key, t.cache.c.response).where(t.cache.c.key.in_(list(keys)))
            ).all()
        return {r.key: r.response for r in rows}

    def cache_put_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """Insert ``{key, scope, provider, model, response}`` entries; first writer wins."""
        if self.redis is not None:
            self.redis.put_many(entries)
            return
        if not entries:
            return
        now = _now()
        if self.dialect == "sqlite":
            # The DB-API directly, as the results are written (storage/bulk.py): the values
            # stored are the ones SQLAlchemy writes (the JSON as the engine serialises it,
            # its DATETIME text), at a third of the CPU per entry.
            rows = _cache_rows(entries, now)
            with self.write() as conn:
                _CACHE_INSERT.write(conn.connection.cursor(), rows)
            return
        with self.write() as conn:
            self.insert_ignore(conn, t.cache, [{**e, "created_at": now} for e in entries])

    def cache_clear(self, scope: str | None = None) -> int:
        if self.redis is not None:
            return self.redis.clear(scope)
        with self.write() as conn:
            q = sa.delete(t.cache)
            if scope:
                q = q.where(t.cache.c.scope == scope)
            return conn.execute(q).rowcount

    # -- aggregates ----------------------------------------------------------------------

    def result_facts(self, run_id: str) -> Iterator[ResultFact]:
        """The few columns aggregates need, without rebuilding whole results."""
        return read_facts(self.engine, ResultFact, run_id)

    def scorer_usage(self, run_id: str) -> tuple[float | None, int, int]:
        """What a run's scorers (judges) spent: ``(cost, input tokens, output tokens)``;
        the cost is ``None`` when some call had tokens but no known price."""
        s = t.scores.c
        query = sa.select(
            sa.func.sum(s.cost_usd),
            sa.func.sum(s.input_tokens),
            sa.func.sum(s.output_tokens),
            sa.func.count().filter(s.cost_usd.is_(None) & (s.input_tokens > 0)),
        ).where(s.run_id == run_id)
        with self.engine.connect() as conn:
            cost, tokens_in, tokens_out, unpriced = conn.execute(query).one()
        return (None if unpriced else float(cost or 0.0)), int(tokens_in or 0), int(tokens_out or 0)

    def score_facts(self, run_id: str) -> Iterator[ScoreFact]:
        return read_facts(self.engine, ScoreFact, run_id)

    # -- comparison ----------------------------------------------------------------------
    # Comparing two runs of 100k cases must stay within seconds and bounded memory: these
    # read only the columns a comparison needs, never whole results.

    def case_columns(self, run_id: str) -> Iterator[CaseChunk]:
        """A run's per-case numbers as column lists, a chunk of plan positions at a time
        (see ``storage/columns.py``): what comparisons read instead of whole results."""
        return case_chunks(self.engine, run_id)

    def score_columns(self, run_id: str, names: Sequence[str]) -> Iterator[ScoreChunk]:
        """``(seq, name_code, score)`` lists per chunk; ``name_code`` indexes ``names``."""
        return score_chunks(self.engine, run_id, names)

    def scorer_directions(self, run_id: str) -> dict[str, bool]:
        """``scorer name → higher_is_better`` of the scorers of a run: from its metrics
        when it finished (instant), else from its scores."""
        m, s = t.metrics.c, t.scores.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(m.name, m.higher_is_better).where(m.run_id == run_id, m.scope == "scorer")
            ).all()
            if not rows:
                rows = conn.execute(
                    sa.select(s.name, s.higher_is_better)
                    .where(s.run_id == run_id)
                    .group_by(s.name, s.higher_is_better)
                ).all()
        return {name: bool(hib) for name, hib in rows}

    def served_builds(self, run_id: str) -> list[tuple[str | None, str | None, int]]:
        """Distinct ``(served_model, system_fingerprint, cases)`` a run was answered by."""
        r = t.results.c
        q = (
            sa.select(r.served_model, r.system_fingerprint, sa.func.count())
            .where(r.run_id == run_id, r.status != "error")
            .group_by(r.served_model, r.system_fingerprint)
            .order_by(sa.func.count().desc())
        )
        with self.engine.connect() as conn:
            return [(m, f, int(n)) for m, f, n in conn.execute(q)]

    def case_texts(
        self, run_id: str, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], dict[str, Any]]:
        """Section, verdict, prompt, output and error of a few cases (for diffs), by
        ``(case_id, epoch)``."""
        wanted = set(keys)
        out: dict[tuple[str, int], dict[str, Any]] = {}
        case_ids = sorted({k[0] for k in wanted})
        r = t.results.c
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), 500):
                q = sa.select(
                    r.case_id,
                    r.epoch,
                    r.section,
                    r.status,
                    r.score,
                    r.prompt,
                    r.output,
                    r.error_message,
                ).where(r.run_id == run_id, r.case_id.in_(case_ids[start : start + 500]))
                for row in conn.execute(q):
                    key = (row.case_id, row.epoch)
                    if key in wanted:
                        out[key] = dict(row._mapping)
        return out

    def latest_run(
        self,
        *,
        suite_id: str | None = None,
        prompt_name: str | None = None,
        alias: str | None = None,
        before: datetime | None = None,
        exclude: str | None = None,
    ) -> RunRecord | None:
        """The most recent *completed* run matching every given filter (a gate's
        ``latest`` or ``alias:NAME`` baseline)."""
        c = t.runs.c
        q = sa.select(t.runs).where(c.status == "completed")
        if suite_id:
            q = q.where(c.suite_id == suite_id)
        if prompt_name:
            q = q.where(c.prompt_name == prompt_name)
        if alias:
            q = q.where(c.alias == alias)
        if before is not None:
            q = q.where(c.created_at < before)
        if exclude:
            q = q.where(c.id != exclude)
        with self.engine.connect() as conn:
            row = conn.execute(q.order_by(c.created_at.desc(), c.id).limit(1)).first()
        return None if row is None else row_to_run(row)

    def run_aliases(self, suite_id: str | None = None) -> list[str]:
        """The aliases that completed runs were recorded under, sorted."""
        c = t.runs.c
        q = sa.select(c.alias).where(c.alias.is_not(None), c.status == "completed").distinct()
        if suite_id:
            q = q.where(c.suite_id == suite_id)
        with self.engine.connect() as conn:
            return sorted(str(a) for (a,) in conn.execute(q))
