"""Execute one run: plan → render → cache → call → score → record → finish.

Structured concurrency: ``concurrency`` workers pull items from a bounded queue that a
producer fills lazily (render + batched cache lookup per chunk). A failing case is data on
its result; only a problem that dooms every case (authentication) stops the run early.
Cancellation (Ctrl-C) lets finished results reach the database and marks the run
``canceled``; ``resume`` re-runs only what is missing or errored.

A fleet executes a run in parts (shards): the same executor, given the range of plan
positions (``items``) of its part. A part neither marks the run started nor finishes it
(whoever settles the last shard does, see ``worker/shard.py``), and its ``max_cost`` is
the run's, drawn in slices from the run's shared budget (:class:`SharedBudget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from evalbook.config import render_limits
from evalbook.core.heap import freeze_after, frozen_heap
from evalbook.core.identity import result_id
from evalbook.core.messages import messages_text
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import Attempt, FailureReason, ProviderEvidence, Result, ResultStatus
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import PromptVersion, Suite
from evalbook.errors import (
    AuthError,
    EndpointUnreachable,
    FatalProviderError,
    RateLimitError,
    StorageFull,
    TransientError,
    UserError,
)
from evalbook.executor.budget import BUDGET_STOP, Budget, SharedBudget
from evalbook.executor.cache import CacheKeys, SingleFlight, response_from_json, response_to_json
from evalbook.executor.events import EventSink, RunStarted, ignore
from evalbook.executor.fleet_limits import (
    EndpointLimits,
    LocalLimits,
    estimate_tokens,
    open_limits,
)
from evalbook.executor.judging import JudgeClient, closing_after
from evalbook.executor.limits import endpoint_limit
from evalbook.executor.plan import (
    WorkItem,
    WorkQueue,
    ahead,
    chunks,
    item_started,
    iter_items,
    render_item,
)
from evalbook.executor.progress_log import item_done, plan_positions, repair_log
from evalbook.executor.result_build import answered_result, error_result
from evalbook.executor.retry import AttemptsFailed, RetryPolicy, call_with_retries
from evalbook.executor.store_io import StoreIO
from evalbook.executor.streamed import RunStream, execute_streamed, produce_streamed
from evalbook.executor.writer import ResultWriter
from evalbook.plain_text import get_logger
from evalbook.prompts.render import template_context
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider, cost_usd
from evalbook.scorers.base import ScoreContext
from evalbook.scorers.case_verdict import case_verdict
from evalbook.scorers.scorer_set import ScorerSet

if TYPE_CHECKING:  # the storage layer loads while the first requests go out
    from evalbook.storage.store import Store

log = get_logger("evalbook.executor")

_DONE = object()
CHUNK = 256
#: Seconds between two "now asking" events of one run.
ANNOUNCE_S = 0.2
#: Attempts in a row that fail to connect, with no call ever answered, before a run stops.
UNREACHABLE_STOP = 5


@dataclass
class _Stop:
    reason: str | None = None
    status: RunStatus = RunStatus.canceled


class RunExecutor:
    """Runs the items of one recorded run against one provider instance."""

    def __init__(
        self,
        store: Store,
        run: RunRecord,
        suite: Suite,
        version: PromptVersion,
        model: ModelConfig,
        provider: Provider,
        *,
        on_event: EventSink = ignore,
        retry: RetryPolicy | None = None,
        suspended: Callable[[], bool] = lambda: False,
        items: range | None = None,
        flush_events: Callable[[], Awaitable[None]] | None = None,
        stream: RunStream | None = None,
    ) -> None:
        self.store = store
        #: A streamed run: ``run`` is recorded, and ``suite`` holds its cases, only once
        #: the stream's suite is loaded (see ``executor/streamed.py``).
        self.stream = stream
        #: The plan positions of this part of the run (a fleet's shard); None: the run.
        self.part = items
        self.run = run
        self.suite = suite
        self.version = version
        self.model = model
        self.provider = provider
        self.on_event = on_event
        #: Writes what ``on_event`` buffered; awaited before the run's end is recorded.
        self.flush_events = flush_events
        self.retry = retry or RetryPolicy.from_env(
            run.options.max_attempts, run.options.retry_budget_s
        )
        self.scope = run.prompt_name
        self.scorer_sets = ScorerSet.build(suite.scorers)
        self.render_set = (
            ScorerSet.build(suite.render_assertions) if suite.render_assertions else None
        )
        self.flight = SingleFlight()
        self.identity = provider.answer_identity()
        self.keys = CacheKeys(self.scope, model, self.identity)
        self.render_limits = render_limits()
        self.budget = Budget(run.options.max_cost)
        #: A part draws its allowance from the run's budget, shared by every shard.
        self.shared: SharedBudget | None = None
        if items is not None and run.options.max_cost is not None:
            self.budget = Budget(0.0)
            self.shared = SharedBudget(store, run.id, run.options.max_cost)
        self._topping_up = asyncio.Lock()
        self.price = provider.price()
        self.stop = _Stop()
        #: Attempts in a row that could not connect at all, and whether any call was
        #: answered in this session: an endpoint that was never reached stops the run.
        self.unreachable = 0
        self.answered = False
        #: True once a worker is about to cancel ``execute()`` to shut down (or after losing
        #: its lease): finished results are still flushed, but the run is left ``running``
        #: for another worker to resume instead of being marked ``canceled`` (a user's cancel).
        self.suspended = suspended
        self.io = StoreIO()
        self._announced = -ANNOUNCE_S
        self.judge = JudgeClient(store, self.io, self.retry, use_cache=run.options.use_cache)
        #: ``max_connections`` / ``rpm`` / ``tpm`` of the endpoint, across the fleet when
        #: Redis is configured (:mod:`evalbook.executor.fleet_limits`).
        self.limits = EndpointLimits.of(provider.endpoint, model)
        #: Whether a call takes a slot of the limiter (rpm / tpm, or limits in Redis).
        self._slots = True

    # -- the run ---------------------------------------------------------------------------

    async def execute(self) -> RunRecord:
        work = self._execute() if self.part is None else self._execute_part(self.part)
        with frozen_heap():
            if self.limits is None:
                return await closing_after(work, self.judge, self.io)
            async with open_limits() as self.limiter:
                # In-process limits with no rpm / tpm: a slot would do nothing; calls skip it.
                self._slots = not (
                    isinstance(self.limiter, LocalLimits)
                    and self.limits.rpm is None
                    and self.limits.tpm is None
                )
                return await closing_after(work, self.judge, self.io)

    async def _pending(self) -> tuple[int, set[tuple[str, int]], Any]:
        """(items in the plan, items recorded without error, the items left to do)."""
        opts = self.run.options
        cases = self.suite.select(opts.case_ids)
        statuses = await self.io.call(self.store.result_statuses, self.run.id)
        done = {k for k, status in statuses.items() if status != ResultStatus.error.value}
        return len(cases) * opts.epochs, done, iter_items(cases, opts.epochs, done)

    async def _repair_log(self, done: set[tuple[str, int]], part: range | None = None) -> None:
        """Resuming: give the progress log the events of recorded items it lacks (see
        ``progress_log``). Progress, not the record: a failure here is only a warning."""
        if not done:
            return
        seq_of = plan_positions(self.suite, self.run.options, done, part)
        try:
            await self.io.call(repair_log, self.store, self.run.id, seq_of)
        except Exception:
            log.warning("run %s: repairing its progress log failed", self.run.id, exc_info=True)

    async def run_items(self, items: Any, expected: int | None = None) -> None:
        """Execute ``items`` (a streamed run: its stream's plan) with the run's workers;
        ``expected``: how many there are, when known."""
        opts = self.run.options
        await freeze_after(self.provider.start())
        async with ResultWriter(self.store, self.io, on_written=self.on_event) as writer:
            writer.held = self.stream is not None and not self.stream.recorded
            if expected is not None:
                writer.expect(expected)
            queue = WorkQueue(max(2 * opts.concurrency, CHUNK), ramp=opts.concurrency)
            async with asyncio.TaskGroup() as tg:
                if self.stream is None:
                    tg.create_task(self.produce(items, queue, opts.concurrency))
                else:
                    tg.create_task(
                        produce_streamed(self, self.stream, queue, opts.concurrency, writer)
                    )
                for _ in range(opts.concurrency):
                    tg.create_task(self._work(queue, writer))

    async def _execute_part(self, part: range) -> RunRecord:
        """Execute the items of ``part`` not recorded yet, leaving the run's record alone.

        The returned record is not written: its ``stop_reason`` (and ``status``) say why
        the part stopped early, None when every item ran. Canceling the call stops the
        part with its finished results flushed; errors propagate to the caller.
        """
        _, done, items = await self._pending()
        await self._repair_log(done, part)
        try:
            await self.run_items(
                (item for item in items if item.seq in part), None if done else len(part)
            )
        finally:
            if self.shared is not None:
                await asyncio.shield(self.io.call(self.shared.settle, self.budget))
        self.run.stop_reason = self.stop.reason
        if self.stop.reason:
            self.run.status = self.stop.status
        return self.run

    async def _execute(self) -> RunRecord:
        if self.stream is not None:
            return await execute_streamed(self, self.stream)
        total, done, items = await self._pending()
        await self._repair_log(done)
        started = time.perf_counter()
        self.run.status = RunStatus.running
        self.run.started_at = self.run.started_at or datetime.now(UTC)
        self.run.stop_reason = None
        await self.io.call(self.store.update_run, self.run)
        self.on_event(RunStarted(self.run.id, total, len(done)))
        try:
            await self.run_items(items, total - len(done))
        except BaseException as exc:
            await self.ended_early(exc, started)
            raise
        return await self.finish(started)

    async def ended_early(self, exc: BaseException, started: float) -> None:
        """Record why the run stopped before its end (the caller re-raises ``exc``)."""
        # Ctrl-C (or SIGTERM, taken like it) can land inside one of the run's tasks: the
        # task group then re-raises KeyboardInterrupt itself rather than a cancellation.
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            if self.suspended():
                return  # results are flushed; the run stays `running`, to be resumed
            self.stop = _Stop("canceled by the user", RunStatus.canceled)
            await asyncio.shield(self.finish(started))
            return
        full = StorageFull.within(exc)
        if full is not None:
            # Not a failure of the run: nothing partial was written, and the run stays
            # `running` without a holder (interrupted), to be resumed once there is room.
            raise StorageFull(
                f"{full}; run {self.run.id} is kept as interrupted: free space, then"
                f" `evalbook resume {self.run.id}`"
            ) from exc
        self.stop = _Stop(f"{type(exc).__name__}: {exc}", RunStatus.failed)
        await asyncio.shield(self.finish(started))

    async def produce(self, items: Any, queue: asyncio.Queue[Any], workers: int) -> None:
        """Feed the workers ``items`` in chunks (see ``ahead``), then tell each the plan ended."""
        async with contextlib.aclosing(ahead(chunks(items, CHUNK), self.prepare)) as ready:
            async for chunk in ready:
                if self.stop.reason:
                    break
                for item in chunk:
                    await queue.put(item)
        for _ in range(workers):
            await queue.put(_DONE)

    async def feed(self, chunk: list[WorkItem], queue: asyncio.Queue[Any]) -> None:
        """Render ``chunk``, look its cache keys up, and queue its items for the workers."""
        for item in await self.prepare(chunk):
            await queue.put(item)

    async def prepare(self, chunk: list[WorkItem]) -> list[WorkItem]:
        """Render ``chunk`` and look its cache keys up (beside the writes: ``StoreIO.read``)."""
        # Off the loop: a template may take up to its time limit; the loop may be a server's.
        await asyncio.to_thread(self._render_chunk, chunk)
        if self.run.options.use_cache:
            keys = [i.key for i in chunk if i.key]
            hits = await self.io.read(self.store.cache_get_many, keys)
            for item in chunk:
                if item.key in hits:
                    item.cached = response_from_json(hits[item.key])
        return chunk

    def _render_chunk(self, chunk: list[WorkItem]) -> None:
        for item in chunk:
            render_item(
                item,
                self.version,
                self.model,
                self.scope,
                reads_case=self.provider.reads_case,
                identity=self.identity,
                limits=self.render_limits,
                keys=self.keys,
            )

    async def _work(self, queue: asyncio.Queue[Any], writer: ResultWriter) -> None:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if self.stop.reason:
                continue  # drain: nothing new is launched once the run is stopping
            token = item.seq * 1000 + item.epoch
            worst_case = self._worst_case_cost(item)
            # Reserved at once when the budget allows (no coroutine per item), else topped
            # up from the run's shared budget or the run stops.
            if not self.budget.try_reserve(token, worst_case) and not await self._reserve(
                token, worst_case
            ):
                continue
            self._announce(item)
            try:
                result, cache_entry, called = await self._process(item)
            except BaseException:
                self.budget.settle(token, None, called=False)
                raise
            judges = 0.0  # what the scorers' own model calls cost (a loop: per result)
            for s in result.scores:
                if s.cost_usd:
                    judges += s.cost_usd
            self.budget.settle(
                token, result.cost_usd if called else None, called=called, extra=judges
            )
            # No event per case when nobody listens (``evalbook.run`` without ``on_event``).
            done = None if self.on_event is ignore else item_done(self.run.id, result, item.seq)
            writer.add(result, item.seq, cache_entry, done)
            if writer.full:
                await writer.room()

    async def _reserve(self, token: int, worst_case: float) -> bool:
        """Reserve the item's cost in the budget once ``try_reserve`` refused it; False (and
        the run stops) when the next item would pass ``max_cost``. A part tops its
        allowance up from the run's shared budget first."""
        if self.shared is not None:
            async with self._topping_up:
                if self.budget.try_reserve(token, worst_case):
                    return True  # another worker of this part topped it up meanwhile
                want = self.budget.estimate(worst_case) * self.run.options.concurrency
                await self.io.call(self.shared.top_up, self.budget, want)
                if self.budget.try_reserve(token, worst_case):
                    return True
        if not self.stop.reason:
            limit, spent = self.run.options.max_cost or 0.0, self.budget.spent
            why = (
                f"the next item would pass ${limit:g} across the fleet (this shard spent"
                f" ${spent:.4f})"
                if self.shared is not None
                else f"${spent:.4f} spent, the next item would pass ${limit:g}"
            )
            self.stop = _Stop(f"{BUDGET_STOP}: {why}", RunStatus.canceled)
        return False

    def _announce(self, item: WorkItem) -> None:
        """Say which item is being asked, a few times a second at most."""
        now = time.monotonic()
        if now - self._announced >= ANNOUNCE_S:
            self._announced = now
            self.on_event(item_started(self.run.id, item))

    def _worst_case_cost(self, item: WorkItem) -> float:
        if self.price is None or item.cached is not None:
            return 0.0
        prompt_tokens = sum(len(m.text) for m in item.messages) // 3 + 8
        return cost_usd(self.price, prompt_tokens, self.model.max_tokens or 4096) or 0.0

    # -- one item --------------------------------------------------------------------------

    async def _process(self, item: WorkItem) -> tuple[Result, dict[str, Any] | None, bool]:
        case = item.case
        base = self._base(item)
        if item.render_error is not None:
            error = error_result(
                base, "TemplateError", str(item.render_error), [], self.scorer_sets.for_case(case)
            )
            return error, None, False
        prompt = base["prompt"]
        if self.render_set is not None:
            records, _, ok = await self.render_set.score(
                ScoreContext(output=prompt, case=case, prompt=prompt), template_context(case)
            )
            if not ok:
                return (
                    Result(
                        **base,
                        status=ResultStatus.failed,
                        failure_reason=FailureReason.render,
                        scores=records,
                        score=0.0,
                    ),
                    None,
                    False,
                )

        scorers = self.scorer_sets.for_case(case)
        response, cached = await self._cached(item)
        cache_entry: dict[str, Any] | None = None
        attempts: list[Attempt] = []
        latency_ms: float | None = None
        if response is None:
            try:
                response, latency_ms, attempts = await self._ask(item)
            except AttemptsFailed as failed:
                exc = failed.error
                message = str(exc) + (f" (gave up after {failed.why})" if failed.why else "")
                error = error_result(base, type(exc).__name__, message, failed.attempts, scorers)
                evidence = getattr(exc, "evidence", None)
                if isinstance(evidence, ProviderEvidence):
                    error.provider_evidence = evidence
                return error, None, True
            if self.run.options.use_cache and item.key is not None:
                cache_entry = {
                    "key": item.key,
                    "scope": self.scope,
                    "provider": self.model.provider,
                    "model": self.model.name,
                    "response": response_to_json(response),
                }
        called = not cached
        cost = (
            cost_usd(self.price, response.input_tokens, response.output_tokens) if called else 0.0
        )
        ctx = ScoreContext.of_answer(
            response.text, case, response.structured, prompt, latency_ms, cost, self.judge
        )
        scored = scorers.score_now(ctx)
        records, score, _ = scored if isinstance(scored, tuple) else await scored
        verdict = case_verdict(records)
        result = answered_result(
            base,
            verdict=verdict,
            response=response,
            records=records,
            score=score,
            latency_ms=0.0 if cached else latency_ms,
            cost=cost,
            cached=cached,
            attempts=attempts,
        )
        return result, cache_entry, called

    async def _ask(self, item: WorkItem) -> tuple[GenerateResponse, float, list[Attempt]]:
        """Call the model with retries; the leader of a cache key publishes its answer (or,
        on failure, nothing: errors are never cached and waiters ask themselves)."""
        key = item.key if self.run.options.use_cache else None
        if key is not None:
            self.flight.begin(key)
        try:
            (response, latency_ms), attempts = await call_with_retries(
                lambda: self._call(item), self.retry, stopping=lambda: self.stop.reason
            )
        except AttemptsFailed as failed:
            if key is not None:
                self.flight.finish(key, None)
            self._maybe_abort(failed.error)
            raise
        except BaseException:
            if key is not None:
                self.flight.finish(key, None)
            raise
        if key is not None:
            self.flight.finish(key, response)
        return response, latency_ms, attempts

    async def _cached(self, item: WorkItem) -> tuple[GenerateResponse | None, bool]:
        if not self.run.options.use_cache or item.key is None:
            return None, False
        if item.cached is not None:
            return item.cached, True
        hit = self.flight.lookup(item.key)
        if isinstance(hit, GenerateResponse):
            return hit, True
        if hit is not None:
            with contextlib.suppress(asyncio.CancelledError):
                return await asyncio.shield(hit), True
            if (task := asyncio.current_task()) is not None and task.cancelling():
                raise asyncio.CancelledError
        return None, False

    async def _call(self, item: WorkItem) -> tuple[GenerateResponse, float]:
        request = GenerateRequest(
            messages=item.messages,
            config=self.model,
            variables=item.case.vars,
            case_id=item.case.id,
        )
        async with endpoint_limit(self.provider.endpoint, self.provider.max_connections):
            if self.limits is None or not self._slots:
                return await self._generate(request)
            est = estimate_tokens(len(messages_text(item.messages)), self.model)
            async with self.limiter.slot(self.limits, est) as slot:
                try:
                    response, ms = await self._generate(request)
                except RateLimitError:
                    slot.refused()
                    raise
                used = (response.input_tokens or 0) + (response.output_tokens or 0)
                slot.done(used or None)
                return response, ms

    async def _generate(self, request: GenerateRequest) -> tuple[GenerateResponse, float]:
        t0 = time.perf_counter()
        try:
            # (asyncio.timeout, not wait_for: no extra task per call on the hot path.)
            async with asyncio.timeout(self.model.timeout_s):
                response = await self.provider.generate(request)
        except TimeoutError:
            raise TransientError(f"request timed out after {self.model.timeout_s:g} s") from None
        except EndpointUnreachable as exc:
            self._unreachable(exc)
            raise
        self.answered = True
        self.unreachable = 0
        return response, (time.perf_counter() - t0) * 1000

    def _unreachable(self, error: EndpointUnreachable) -> None:
        """An endpoint never reached in this session stops the run after a few attempts
        in a row: every case would fail the same way, and the run can be resumed."""
        self.unreachable += 1
        if self.answered or self.unreachable < UNREACHABLE_STOP or self.stop.reason:
            return
        self.stop = _Stop(
            f"cannot reach {error.url}: {error.cause} ({self.unreachable} attempts in a row"
            " failed to connect, none succeeded); fix the endpoint and resume the run",
            RunStatus.failed,
        )

    def _maybe_abort(self, error: BaseException) -> None:
        """Failures that doom every case stop the run instead of failing them one by one:
        authentication (a refused key, a website asking to log in) and a configuration
        error raised by the provider (a site profile's selector that matches nothing)."""
        if isinstance(error, AuthError) or (
            isinstance(error, FatalProviderError) and error.status_code in (401, 403)
        ):
            self.stop = _Stop(f"authentication failed: {error}", RunStatus.failed)
        elif isinstance(error, UserError) and not self.stop.reason:
            self.stop = _Stop(f"configuration error: {error}", RunStatus.failed)

    def _base(self, item: WorkItem) -> dict[str, Any]:
        case = item.case
        return {
            "id": result_id(self.run.id, item.seq, case.id, item.epoch),
            "run_id": self.run.id,
            "case_id": case.id,
            "epoch": item.epoch,
            "input": case.vars,
            "messages": item.messages,
            "prompt": messages_text(item.messages) if item.messages else None,
            "expected": case.expected_text,
            "choices": case.choices,
            "section": case.section,
            "tags": case.tags,
            "cache_key": item.key,
            "created_at": datetime.now(UTC),
        }

    # -- finish ----------------------------------------------------------------------------

    async def finish(self, started: float) -> RunRecord:
        from evalbook.executor.finish import finish_run  # after the run: not at start-up

        return await finish_run(
            self.store,
            self.io,
            self.run,
            started=started,
            stop_reason=self.stop.reason,
            stop_status=self.stop.status,
            on_event=self.on_event,
            flush_events=self.flush_events,
        )
