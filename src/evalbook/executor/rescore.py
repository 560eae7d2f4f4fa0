"""Re-score a finished run with new scorers, without asking the model again.

Runs are immutable, so re-scoring never touches the source run: it records a *new* run,
linked by ``rescored_from``, that reuses every output of the source and scores it with
the new scorers. Its suite is the recorded suite with the scorers replaced (or, with
``keep``, extended), saved under its own hash, so the new run can be read, shown and
re-scored again like any other. Results keep their ``(case_id, epoch)`` identity, so
``compare`` and ``gate`` pair the source and the re-scored run case by case.

What is copied and what is new:

- outputs, latency, tokens, served model, attempts and the ``cached`` flag are the
  source's; the system under test's ``cost_usd`` too, so the new run's ``cost`` repeats
  the source's (it is what producing these outputs cost, once) while its ``judge_cost``
  is only what the new scorers' judges spent now;
- an errored result stays errored (its error and attempts copied) with a ``not_scored``
  record per new scorer; a result stopped by a render assertion is copied as it is;
- with ``keep``, the source's verdicts are copied (not re-scored) beside the new ones,
  and the case's score and pass/fail are folded from both. Copied verdicts drop their
  token and dollar usage: that spend belongs to the source run, which keeps it.
- in replace mode a case's own scorers are dropped too: the new run is judged by exactly
  the scorers asked for.

Every new scorer is built and checked against every case before anything is recorded
(a reference scorer with a case lacking ``expected`` fails up front, naming both).
Results are streamed from the store and scored by ``concurrency`` workers fed from a
bounded queue (judges are slow); Ctrl-C leaves the new run ``canceled`` with what was
scored so far.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from evalbook._version import __version__
from evalbook.core.identity import result_id
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import FailureReason, Result, ResultStatus, ScoreRecord
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import Case, ScorerSpec, Suite
from evalbook.core.templating import compile_template, is_template
from evalbook.errors import ConfigError, TemplateError, UserError
from evalbook.executor.events import EventSink, ItemDone, RunStarted, ignore
from evalbook.executor.finish import finish_run
from evalbook.executor.judging import JudgeClient, closing_after
from evalbook.executor.retry import RetryPolicy
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer import ResultWriter
from evalbook.prompts.render import template_context
from evalbook.scorers.base import ScoreContext
from evalbook.scorers.case_verdict import SCORER_ERROR, case_verdict, weighted_score
from evalbook.scorers.scorer_set import DEFAULT_SPECS, ScorerSet
from evalbook.storage.store import Store

__all__ = ["RescoreJob", "execute_rescore", "prepare_rescore", "rescore"]

_DONE = object()
_BATCH = 256
_USAGE_FIELDS = {"input_tokens": None, "output_tokens": None, "cost_usd": None}


@dataclass(frozen=True)
class RescoreJob:
    """A recorded, ``pending`` re-scored run and what scoring it needs."""

    run: RunRecord
    source: RunRecord
    suite: Suite
    scorers: ScorerSet  # the new scorers only
    keep: bool
    seq_of: dict[str, int]  # case id → position in the plan's epoch (for ``seq``)


async def rescore(
    store: Store,
    run_id: str,
    scorers: Sequence[ScorerSpec],
    *,
    keep: bool = False,
    concurrency: int = 8,
    use_cache: bool = True,
    title: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    """Record and score a new run from ``run_id``'s outputs with ``scorers``; return it
    finished. See the module docstring for what is copied and what costs what."""
    job = await asyncio.to_thread(
        prepare_rescore,
        store,
        run_id,
        scorers,
        keep=keep,
        concurrency=concurrency,
        use_cache=use_cache,
        title=title,
        alias=alias,
        label=label,
        tags=tags,
    )
    return await execute_rescore(store, job, on_event=on_event, retry=retry)


def prepare_rescore(
    store: Store,
    run_id: str,
    scorers: Sequence[ScorerSpec],
    *,
    keep: bool = False,
    concurrency: int = 8,
    use_cache: bool = True,
    title: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
) -> RescoreJob:
    """Validate everything, then record the new suite definition and a ``pending`` run."""
    source = store.get_run(run_id)
    if not source.status.finished:
        raise UserError(
            f"run {source.id} is {source.status.value}; only a finished run (completed, failed"
            " or canceled) can be re-scored — wait for it to end, or resume it first"
        )
    if not scorers:
        raise ConfigError("give at least one scorer to re-score with (--scorer SPEC)")
    suite = store.get_suite(source.suite_hash)
    version = store.get_prompt_version(
        source.prompt_name, source.prompt_version, workspace_id=source.workspace_id
    )
    model = ModelConfig.model_validate(source.model)
    try:
        cases = suite.select(source.options.case_ids)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    new_set = _check_scorers(list(scorers), cases, suite if keep else None, source.id)
    if keep:
        # A suite without scorers was judged by the defaults: they stay, now spelled out.
        defaults = not suite.scorers and any(not c.scorers for c in suite.cases)
        old = list(DEFAULT_SPECS) if defaults else list(suite.scorers)
        new_suite = suite.model_copy(update={"scorers": [*old, *scorers]})
    else:
        bare = [c.model_copy(update={"scorers": []}) if c.scorers else c for c in suite.cases]
        new_suite = suite.model_copy(update={"scorers": list(scorers), "cases": bare})
    suite_hash = store.save_definitions(
        new_suite, source.prompt_name, version, model, workspace_id=source.workspace_id
    )
    now = datetime.now(UTC)
    options = source.options.model_copy(
        update={"concurrency": concurrency, "use_cache": use_cache, "max_cost": None}
    )
    run = RunRecord(
        id=str(uuid.uuid4()),
        title=title or f"{source.title} · rescored",
        description=f"re-scored from run {source.id} (no model calls)",
        status=RunStatus.pending,
        tags=sorted(set(suite.tags) | set(tags or [])),
        run_date=now.date().isoformat(),
        alias=alias,
        label=label,
        experiment_id=source.experiment_id,
        suite_id=source.suite_id,
        suite_name=source.suite_name,
        suite_version=source.suite_version,
        suite_hash=suite_hash,
        prompt_name=source.prompt_name,
        prompt_version=source.prompt_version,
        prompt_hash=source.prompt_hash,
        model=source.model,
        model_hash=source.model_hash,
        threshold=source.threshold,
        options=options,
        rescored_from=source.id,
        workspace_id=source.workspace_id,  # the re-score stays where its source is
        evalbook_version=__version__,
        created_at=now,
    )
    run.counts.total = source.counts.total
    store.insert_run(run)
    seq_of = {case.id: i for i, case in enumerate(cases)}
    return RescoreJob(run, source, new_suite, new_set, keep, seq_of)


def _check_scorers(
    specs: list[ScorerSpec], cases: Sequence[Case], kept: Suite | None, source_id: str
) -> ScorerSet:
    """Build the new scorers and check them against every case, before recording."""
    where = f"cannot re-score run {source_id[:8]}"
    for spec in specs:
        if isinstance(spec.value, str) and is_template(spec.value):
            try:
                compile_template(spec.value)
            except TemplateError as exc:
                raise ConfigError(f"{where}: scorer {spec.type!r}: value {exc}") from None
    try:
        scorer_set = ScorerSet.build(specs)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    new_ids = set(scorer_set.scorer_ids)
    old_set = ScorerSet.build(kept.scorers) if kept is not None else None
    for case in cases:
        for scorer in scorer_set.scorers:
            try:
                scorer.check_case(case)
            except ValueError as exc:
                message = str(exc)
                if repr(case.id) not in message:
                    message = f"case {case.id!r}: {message}"
                raise ConfigError(f"{where}: {message}") from None
        if old_set is not None:
            clash = new_ids & set(old_set.for_case(case).scorer_ids)
            if clash:
                names = sorted(
                    s.metric_name
                    for s, i in zip(scorer_set.specs, scorer_set.scorer_ids, strict=True)
                    if i in clash
                )
                raise ConfigError(
                    f"{where}: {', '.join(names)} is already a scorer of case {case.id!r};"
                    " --keep keeps its verdicts, so leave it out of the new scorers"
                )
    return scorer_set


async def execute_rescore(
    store: Store,
    job: RescoreJob,
    *,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    """Score the prepared run; Ctrl-C (cancellation) leaves it ``canceled``."""
    return await _Rescorer(store, job, on_event, retry).execute()


class _Rescorer:
    def __init__(
        self, store: Store, job: RescoreJob, on_event: EventSink, retry: RetryPolicy | None
    ) -> None:
        self.store = store
        self.job = job
        self.run = job.run
        self.on_event = on_event
        self.cases = {case.id: case for case in job.suite.cases}
        self.io = StoreIO()
        retry = retry or RetryPolicy.from_env(
            self.run.options.max_attempts, self.run.options.retry_budget_s
        )
        self.judge = JudgeClient(store, self.io, retry, use_cache=self.run.options.use_cache)

    async def execute(self) -> RunRecord:
        return await closing_after(self._execute(), self.judge, self.io)

    async def _execute(self) -> RunRecord:
        run = self.run
        started = time.perf_counter()
        run.status = RunStatus.running
        run.started_at = datetime.now(UTC)
        await self.io.call(self.store.update_run, run)
        self.on_event(RunStarted(run.id, run.counts.total, 0))
        workers = run.options.concurrency
        try:
            async with ResultWriter(self.store, self.io) as writer:
                queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=2 * workers)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._produce(queue, workers))
                    for _ in range(workers):
                        tg.create_task(self._work(queue, writer))
        except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C inside a task: the latter
            await asyncio.shield(self._finish(started, "canceled by the user", RunStatus.canceled))
            raise
        except BaseException as exc:
            reason = f"{type(exc).__name__}: {exc}"
            await asyncio.shield(self._finish(started, reason, RunStatus.failed))
            raise
        return await self._finish(started, None, RunStatus.completed)

    async def _finish(self, started: float, reason: str | None, status: RunStatus) -> RunRecord:
        return await finish_run(
            self.store,
            self.io,
            self.run,
            started=started,
            stop_reason=reason,
            stop_status=status,
            on_event=self.on_event,
        )

    async def _produce(self, queue: asyncio.Queue[Any], workers: int) -> None:
        """Stream the source's results a batch at a time, on the store thread."""
        results = self.store.iter_results(self.job.source.id, batch_size=_BATCH)
        while batch := await self.io.call(_take, results, _BATCH):
            for result in batch:
                await queue.put(result)
        for _ in range(workers):
            await queue.put(_DONE)

    async def _work(self, queue: asyncio.Queue[Any], writer: ResultWriter) -> None:
        while True:
            source = await queue.get()
            if source is _DONE:
                return
            result, seq = await self._rescore_one(source)
            writer.add(result, seq)
            self.on_event(
                ItemDone(
                    self.run.id,
                    result.case_id,
                    result.epoch,
                    result.status.value,
                    result.score,
                    result.latency_ms,
                    result.cached,
                    result.error_message,
                )
            )

    async def _rescore_one(self, source: Result) -> tuple[Result, int]:
        case = self.cases.get(source.case_id)
        if case is None:  # the recorded suite always has its run's cases
            raise UserError(f"run {source.run_id} has case {source.case_id!r}, not in its suite")
        seq = source.epoch * len(self.job.seq_of) + self.job.seq_of[case.id]
        kept = _without_usage(source.scores) if self.job.keep else []
        fields: dict[str, Any] = {
            "id": result_id(self.run.id, seq, case.id, source.epoch),
            "run_id": self.run.id,
            "created_at": datetime.now(UTC),
        }
        if source.status is ResultStatus.error and source.error_type != SCORER_ERROR:
            reason = f"case errored before scoring: {source.error_type}"
            scores = [*kept, *self.job.scorers.not_scored(reason)]
            return source.model_copy(update={**fields, "scores": scores}), seq
        if source.failure_reason is FailureReason.render:
            # Stopped by a render assertion before any model call: nothing to score.
            scores = _without_usage(source.scores)
            return source.model_copy(update={**fields, "scores": scores}), seq
        ctx = ScoreContext(
            output=source.output,
            case=case,
            output_structured=source.output_structured,
            prompt=source.prompt,
            latency_ms=None if source.cached else source.latency_ms,
            cost_usd=source.cost_usd,
            judge=self.judge,
        )
        records, _, _ = await self.job.scorers.score(ctx, template_context(case))
        scores = [*kept, *records]
        verdict = case_verdict(scores)
        update = {
            **fields,
            "scores": scores,
            "score": weighted_score(scores),
            "status": verdict.status,
            "failure_reason": verdict.failure_reason,
            "error_type": verdict.error_type,
            "error_message": verdict.error_message,
        }
        return source.model_copy(update=update), seq


def _take(results: Iterator[Result], n: int) -> list[Result]:
    return list(itertools.islice(results, n))


def _without_usage(records: list[ScoreRecord]) -> list[ScoreRecord]:
    """The records as copied into another run: what their judges spent stays with the
    run that paid for it."""
    return [
        r.model_copy(update=_USAGE_FIELDS)
        if any(getattr(r, k) is not None for k in _USAGE_FIELDS)
        else r
        for r in records
    ]
