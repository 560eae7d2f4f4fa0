"""The Python API: the same runs as the CLI, from code.

::

    import evalbook

    suite = evalbook.load_suite("suites/qa.yaml")
    run = evalbook.run(suite, model="openai:gpt-4o-mini", alias="candidate")
    print(run.score, run.passed)
    for result in evalbook.results(run.id):
        ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook.config import check_limits
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import Result
from evalbook.core.run import RunOptions, RunRecord
from evalbook.core.suite import ScorerSpec, Suite
from evalbook.errors import ConfigError
from evalbook.executor.events import EventSink, ignore
from evalbook.executor.launch import execute, load_for_resume, prepare_run
from evalbook.executor.lease import execute_held
from evalbook.executor.rescore import rescore as _rescore
from evalbook.executor.retry import RetryPolicy
from evalbook.scorers.registry import parse_scorer_spec
from evalbook.storage.run_refs import resolve_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite

if TYPE_CHECKING:  # the comparison (numpy, statistics) loads when a comparison is asked
    from evalbook.analysis.compare.comparison import Comparison
    from evalbook.executor.pairwise_job import PairwiseResult


def open_store(database_url: str | None = None) -> Store:
    """The configured store (``EVALBOOK_DATABASE_URL`` or SQLite under ``EVALBOOK_HOME``)."""
    return Store.open(database_url)


async def arun(
    suite: Suite | str | Path,
    *,
    model: ModelConfig | str | None = None,
    prompt_version: int | None = None,
    cases: list[str] | None = None,
    epochs: int = 1,
    concurrency: int = 8,
    max_cost: float | None = None,
    use_cache: bool = True,
    max_attempts: int | None = None,
    retry_budget_s: float = 600.0,
    max_error_rate: float = 0.0,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
    experiment_id: str | None = None,
    title: str | None = None,
    store: Store | None = None,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    """Run ``suite`` and return the finished run record (async form of :func:`run`).

    Raises :class:`~evalbook.errors.ConfigError` before anything is asked or recorded when
    a limit in the environment is set badly (``evalbook.config.check_limits``)."""
    check_limits()
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    own_store = store is None
    store = store or open_store()
    try:
        options = RunOptions(
            concurrency=concurrency,
            epochs=epochs,
            case_ids=cases,
            max_cost=max_cost,
            use_cache=use_cache,
            max_attempts=max_attempts,
            retry_budget_s=retry_budget_s,
            max_error_rate=max_error_rate,
        )
        job = await asyncio.to_thread(
            lambda: prepare_run(
                store,
                suite,
                model=model,
                prompt_version=prompt_version,
                options=options,
                alias=alias,
                label=label,
                tags=tags,
                experiment_id=experiment_id,
                title=title,
            )
        )
        return await execute_held(
            store, job.run.id, lambda: execute(store, job, on_event=on_event, retry=retry)
        )
    finally:
        if own_store:
            store.close()


def run(suite: Suite | str | Path, **kwargs: object) -> RunRecord:
    """Run ``suite`` (a :class:`Suite` or a path to a suite file) and record it.

    Keyword arguments are those of :func:`arun`. Returns the finished run record.
    """
    return asyncio.run(arun(suite, **kwargs))  # type: ignore[arg-type]


async def aresume(
    run_id: str,
    *,
    store: Store | None = None,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    """Re-run only what a canceled or interrupted run is missing."""
    own_store = store is None
    store = store or open_store()
    try:
        job = await asyncio.to_thread(load_for_resume, store, run_id)
        return await execute_held(
            store, job.run.id, lambda: execute(store, job, on_event=on_event, retry=retry)
        )
    finally:
        if own_store:
            store.close()


def resume(run_id: str, **kwargs: object) -> RunRecord:
    return asyncio.run(aresume(run_id, **kwargs))  # type: ignore[arg-type]


async def arescore(
    run_id: str,
    scorers: Sequence[ScorerSpec | str | Mapping[str, object]],
    *,
    keep: bool = False,
    concurrency: int = 8,
    use_cache: bool = True,
    title: str | None = None,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
    store: Store | None = None,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    """Score a finished run's outputs with new ``scorers`` into a new run linked by
    ``rescored_from``, without calling the model; the source run is left as it was.

    ``scorers`` take any spec form (``"non-empty"``, ``{"contains": "Paris"}``, a
    :class:`ScorerSpec`); ``keep=True`` keeps the source's verdicts beside them. The new
    run's ``cost`` repeats the source's (the outputs were paid for once); its
    ``judge_cost`` is what the new judges spent.
    """
    specs = []
    for raw in scorers:
        try:
            specs.append(parse_scorer_spec(raw))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    own_store = store is None
    store = store or open_store()
    try:
        return await _rescore(
            store,
            run_id,
            specs,
            keep=keep,
            concurrency=concurrency,
            use_cache=use_cache,
            title=title,
            alias=alias,
            label=label,
            tags=tags,
            on_event=on_event,
            retry=retry,
        )
    finally:
        if own_store:
            store.close()


def rescore(
    run_id: str, scorers: Sequence[ScorerSpec | str | Mapping[str, object]], **kwargs: object
) -> RunRecord:
    """Re-score a run (see :func:`arescore`, whose keyword arguments it takes)."""
    return asyncio.run(arescore(run_id, scorers, **kwargs))  # type: ignore[arg-type]


def get_run(run_id: str, *, store: Store | None = None) -> RunRecord:
    return (store or open_store()).get_run(run_id)


def results(run_id: str, *, store: Store | None = None) -> Iterator[Result]:
    """Every result of a run, in plan order, streamed."""
    yield from (store or open_store()).iter_results(run_id)


def compare(
    baseline: str, candidate: str, *, store: Store | None = None, confidence: float = 0.95
) -> Comparison:
    """Compare two recorded runs case by case. Runs are named by id (or prefix),
    ``latest`` or ``alias:NAME``; the baseline's rule is taken relative to the candidate
    (so ``compare("latest", run_id)`` is "this run against the one before it")."""
    from evalbook.analysis.compare.runs import compare_runs

    own_store = store is None
    store = store or open_store()
    try:
        cand = resolve_run(store, candidate)
        base = resolve_run(store, baseline, relative_to=cand)
        return compare_runs(store, base, cand, confidence=confidence)
    finally:
        if own_store:
            store.close()


async def apairwise(
    baseline: str,
    candidate: str,
    *,
    judge: str | dict[str, Any],
    criterion: str | dict[str, Any] = "helpfulness",
    store: Store | None = None,
    **options: Any,
) -> PairwiseResult:
    """Judge ``candidate``'s answers against ``baseline``'s, case by case and in both
    orders, and record the comparison (async form of :func:`pairwise`). Runs are named
    as in :func:`compare`; ``options`` are those of
    :func:`evalbook.executor.pairwise_job.judge_pairwise` (``concurrency``,
    ``use_cache``, ``template``, ``confidence``, ``on_progress``)."""
    from evalbook.executor.pairwise_job import judge_pairwise  # numpy: loaded when judging

    own_store = store is None
    store = store or open_store()
    try:
        return await judge_pairwise(
            store, baseline, candidate, judge=judge, criterion=criterion, **options
        )
    finally:
        if own_store:
            store.close()


def pairwise(baseline: str, candidate: str, **kwargs: Any) -> PairwiseResult:
    """Pairwise judging of two recorded runs: win rate with its interval, tie rate,
    position-bias rate and verbosity; keyword arguments are those of :func:`apairwise`."""
    return asyncio.run(apairwise(baseline, candidate, **kwargs))
