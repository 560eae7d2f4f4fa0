"""Judge two runs' answers pair by pair, in both orders, with bounded concurrency.

The pairs are read page by page from the store (the cases both runs answered, by
``(case_id, epoch)``) and fed to ``concurrency`` workers; each worker asks the judge
twice — the candidate's answer as A, then the baseline's as A — so at most
``2 × concurrency`` judge calls are in flight. Judge calls go through the
:class:`~evalbook.executor.judging.JudgeClient`: retries, per-endpoint limits and the
response cache (scoped by the template's ``name@version``), so judging the same pair
again is free.

A pair where either run errored or has no output is skipped (counted, not judged). A
judge that fails or answers without a parseable verdict makes the pair an ``error``
with the message in its detail, never a silent tie. Judgments are written in batches as
they are made, into the comparison the caller created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from evalbook.core.model_config import ModelConfig
from evalbook.core.pairwise import PairwiseJudgment, Slot, pair_outcome
from evalbook.core.result import ResultStatus
from evalbook.errors import AuthError, FatalProviderError, UserError
from evalbook.executor.judging import JudgeClient
from evalbook.executor.retry import RetryPolicy
from evalbook.executor.store_io import StoreIO
from evalbook.scorers.base import JudgeReply
from evalbook.scorers.judges.prompts import Criterion, JudgeTemplate, render_judge
from evalbook.scorers.judges.verdict import JudgeVerdictError, parse_pair
from evalbook.storage.pairwise import PairedRow, add_judgments, pair_counts, paired_rows
from evalbook.storage.store import Store

__all__ = ["JudgedPair", "JudgingTotals", "PairJudge", "judge_pairs"]

PAGE = 500
BATCH = 256

#: ``on_progress(done, total)``: pairs handled (judged or skipped) out of those paired.
ProgressSink = Callable[[int, int], None]


@dataclass(frozen=True)
class PairJudge:
    """Who judges, with which prompt, on what."""

    config: ModelConfig
    template: JudgeTemplate
    criterion: Criterion


class JudgedPair(NamedTuple):
    """What the statistics need of a judgment (kept in memory; the detail is stored)."""

    outcome: str
    candidate_first: str | None
    baseline_first: str | None
    length_diff: int | None


@dataclass
class JudgingTotals:
    """What judging two runs gave and cost."""

    paired: int = 0
    only_in_baseline: int = 0
    only_in_candidate: int = 0
    skipped: int = 0
    judged: list[JudgedPair] = field(default_factory=list)
    judge_calls: int = 0
    cached_replies: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None once any call's price was unknown

    def add_reply(self, reply: JudgeReply) -> None:
        self.cached_replies += reply.cached
        self.input_tokens += reply.input_tokens or 0
        self.output_tokens += reply.output_tokens or 0
        if self.cost_usd is not None:
            self.cost_usd = None if reply.cost_usd is None else self.cost_usd + reply.cost_usd


@dataclass(frozen=True)
class _Order:
    """One order's verdict, or why there is none."""

    winner: Slot | None
    reason: str | None = None
    error: str | None = None
    reply: JudgeReply | None = None

    def detail(self) -> dict[str, Any]:
        reply = self.reply
        return {
            "verdict": self.winner,
            "reason": self.reason,
            "error": self.error,
            "cached": reply.cached if reply else None,
            "input_tokens": reply.input_tokens if reply else None,
            "output_tokens": reply.output_tokens if reply else None,
            "cost_usd": reply.cost_usd if reply else None,
        }


async def judge_pairs(
    store: Store,
    comparison_id: str,
    baseline_run_id: str,
    candidate_run_id: str,
    judge: PairJudge,
    *,
    concurrency: int = 8,
    use_cache: bool = True,
    retry: RetryPolicy | None = None,
    on_progress: ProgressSink | None = None,
) -> JudgingTotals:
    """Judge every pair of the two runs and record each judgment under
    ``comparison_id``; return the verdicts (for the statistics) and the judge's costs."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    io = StoreIO()
    client = JudgeClient(store, io, retry or RetryPolicy.from_env(), use_cache=use_cache)
    job = _Judging(store, io, client, judge, comparison_id, on_progress)
    try:
        counts = await io.call(pair_counts, store, baseline_run_id, candidate_run_id)
        totals = job.totals
        totals.paired, totals.only_in_baseline, totals.only_in_candidate = counts
        queue: asyncio.Queue[PairedRow | None] = asyncio.Queue(maxsize=2 * concurrency)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(
                    job.produce(queue, baseline_run_id, candidate_run_id, workers=concurrency)
                )
                for _ in range(concurrency):
                    tg.create_task(job.work(queue))
        except BaseExceptionGroup as group:  # the first failure, as raised (a bad judge
            first = group.exceptions[0]  # fails every worker alike)
            alike = all(type(e) is type(first) for e in group.exceptions)
            raise first from (None if alike else group)
        await job.flush()
        totals.judge_calls = client.calls
        return totals
    finally:
        try:
            await asyncio.shield(client.aclose())
        finally:
            io.close()


class _Judging:
    def __init__(
        self,
        store: Store,
        io: StoreIO,
        client: JudgeClient,
        judge: PairJudge,
        comparison_id: str,
        on_progress: ProgressSink | None,
    ) -> None:
        self.store = store
        self.io = io
        self.client = client
        self.judge = judge
        self.comparison_id = comparison_id
        self.on_progress = on_progress
        self.totals = JudgingTotals()
        self.pending: list[PairwiseJudgment] = []
        self.done = 0

    async def produce(
        self, queue: asyncio.Queue[PairedRow | None], baseline: str, candidate: str, workers: int
    ) -> None:
        after = -1
        while True:
            page = await self.io.call(
                paired_rows, self.store, baseline, candidate, after_seq=after, limit=PAGE
            )
            if not page:
                break
            for row in page:
                await queue.put(row)
            after = page[-1].seq
        for _ in range(workers):
            await queue.put(None)

    async def work(self, queue: asyncio.Queue[PairedRow | None]) -> None:
        while (row := await queue.get()) is not None:
            if _unjudgeable(row):
                self.totals.skipped += 1
            else:
                judgment = await self.judge_row(row)
                self.totals.judged.append(
                    JudgedPair(
                        judgment.outcome,
                        judgment.candidate_first,
                        judgment.baseline_first,
                        judgment.length_diff,
                    )
                )
                self.pending.append(judgment)
                if len(self.pending) >= BATCH:
                    await self.flush()
            self.done += 1
            if self.on_progress is not None:
                self.on_progress(self.done, self.totals.paired)

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        await self.io.call(add_judgments, self.store, self.comparison_id, batch)

    async def judge_row(self, row: PairedRow) -> PairwiseJudgment:
        candidate, baseline = row.candidate_output or "", row.baseline_output or ""
        criterion = self.judge.criterion
        reference = row.expected if row.expected is not None else row.baseline_expected
        base = PairwiseJudgment(
            case_id=row.case_id,
            epoch=row.epoch,
            outcome="error",
            candidate_first=None,
            baseline_first=None,
            length_diff=len(candidate) - len(baseline),
        )
        if criterion.reference and reference is None:
            error = (
                f"case {row.case_id!r} has no expected value, which the reference-based"
                f" criterion {criterion.name!r} needs"
            )
            return base.model_copy(update={"detail": {"error": error}})
        variables = {
            "input": row.prompt if row.prompt is not None else row.baseline_prompt or "",
            "reference": reference if criterion.reference else None,
            "criterion": criterion.model_dump(),
        }
        cand_first, base_first = await _both(
            self._ask(variables | {"first": candidate, "second": baseline}),
            self._ask(variables | {"first": baseline, "second": candidate}),
        )
        replies = [o.reply for o in (cand_first, base_first) if o.reply is not None]
        for reply in replies:
            self.totals.add_reply(reply)
        costs = [r.cost_usd for r in replies]
        return base.model_copy(
            update={
                "outcome": pair_outcome(cand_first.winner, base_first.winner),
                "candidate_first": cand_first.winner,
                "baseline_first": base_first.winner,
                "cost_usd": None if None in costs else float(sum(c or 0.0 for c in costs)),
                "detail": {
                    "candidate_first": cand_first.detail(),
                    "baseline_first": base_first.detail(),
                },
            }
        )

    async def _ask(self, variables: dict[str, Any]) -> _Order:
        messages = render_judge(self.judge.template, variables)
        try:
            reply = await self.client(self.judge.config, messages, scope=self.judge.template.id)
        except UserError:  # the judge's config is wrong: no pair can be judged
            raise
        except FatalProviderError as exc:
            # A refused key dooms every pair alike: stop, as a run stops on 401/403.
            if isinstance(exc, AuthError) or exc.status_code in (401, 403):
                raise
            return _Order(None, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # recorded on the pair: one failing call is data
            return _Order(None, error=f"{type(exc).__name__}: {exc}")
        try:
            verdict = parse_pair(reply.text)
        except JudgeVerdictError as exc:
            return _Order(None, error=str(exc), reply=reply)
        winner: Slot = "A" if verdict.winner == "A" else "B" if verdict.winner == "B" else "tie"
        return _Order(winner, reason=verdict.reason, reply=reply)


async def _both(first: Awaitable[_Order], second: Awaitable[_Order]) -> tuple[_Order, _Order]:
    """Both orders of one pair, asked at once. When one fails (a refused key) the other
    is cancelled and awaited before the error is raised: no call outlives the comparison."""
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task in done and (error := task.exception()) is not None:
                raise error
        return tasks[0].result(), tasks[1].result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _unjudgeable(row: PairedRow) -> bool:
    """Either run errored on the case or has no output to show the judge."""
    error = ResultStatus.error.value
    return (
        row.candidate_status == error
        or row.baseline_status == error
        or row.candidate_output is None
        or row.baseline_output is None
    )
