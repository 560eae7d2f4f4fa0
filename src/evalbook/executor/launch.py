"""Create, execute and resume runs: the one launch path of the CLI, the Python API, the
server and the worker.

A run is launched in two steps. :func:`prepare_run` (or :func:`load_for_resume`) returns a
:class:`RunJob`: the recorded run and everything executing it needs, the provider
included. :func:`execute` then runs the job and closes its provider. The CLI and
``evalbook.arun`` do both in one process; the server prepares and queues the run (see
``executor/dispatch.py``), and a worker loads it for resume and executes it.

Everything that would doom every case is checked before a run is recorded: the prompt
version exists, the selected case ids exist, no template variable is missing from every
case, the provider is known and accepts the model config, and ``max_cost`` has a price
to work with.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook._version import __version__
from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, parse_model_spec
from evalbook.core.run import RunOptions, RunRecord, RunStatus
from evalbook.core.suite import Case, CaseList, PromptVersion, Suite
from evalbook.errors import ConfigError, TemplateError, UserError
from evalbook.executor.events import EventSink, ignore
from evalbook.executor.retry import RetryPolicy
from evalbook.executor.runner import RunExecutor
from evalbook.executor.streamed import RunStream, StreamedSuite
from evalbook.prompts.render import missing_variables_everywhere
from evalbook.providers.base import Provider
from evalbook.providers.registry import create_provider, resolve_config
from evalbook.providers.tiers import TIER_PROVIDER, resolve_tier, tier_name

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = [
    "Queued",
    "RunJob",
    "execute",
    "kind_tier",
    "load_for_resume",
    "prepare_run",
    "prepare_streamed",
    "resolve_model",
    "run_tier",
    "suite_folder",
]


#: :func:`prepare_run`'s ``queued``: gives the queue's columns when a dispatcher records
#: the run queued, in the transaction that records it (``None``: it is queued after).
Queued = Callable[[], Mapping[str, Any]] | None


@dataclass(frozen=True)
class RunJob:
    """A recorded run and what executing it needs (the twin of ``RescoreJob``).

    ``provider`` is the instance built while the job was prepared (building it is what
    checks the model config: its key, file or name); :func:`execute` takes it over and
    closes it, so a job executes once. A job that is queued instead of executed here
    gives its provider back with :meth:`aclose`.
    """

    run: RunRecord
    suite: Suite
    version: PromptVersion
    config: ModelConfig
    provider: Provider
    #: A streamed run (see ``executor/streamed.py``): recorded once its suite is loaded.
    stream: RunStream | None = None

    async def aclose(self) -> None:
        """Close the provider without executing (the run was queued for a worker)."""
        await self.provider.aclose()


def resolve_model(suite: Suite, model: ModelConfig | str | None) -> ModelConfig:
    """Explicit model > the suite's default model > the embedded local model. A model
    ``tier:NAME`` (given, or the suite's ``model: tier:NAME``) is the model the settings
    give that tier, taken whole."""
    if isinstance(model, ModelConfig):
        return model
    tier = run_tier(suite, model)
    if tier is not None:
        return resolve_tier(tier)
    if model is not None:
        base = suite.model
        if base is not None and base.provider != TIER_PROVIDER:
            # Keep the suite's generation settings when only the model is swapped.
            fresh = parse_model_spec(model)
            keep = base.model_dump(
                exclude={"provider", "name", "base_url", "version", "price", "api_key_env"}
            )
            return ModelConfig(**{**keep, **fresh.model_dump(exclude_unset=True)})
        return parse_model_spec(model)
    return suite.model or parse_model_spec(DEFAULT_MODEL_SPEC)


def run_tier(suite: Suite, model: ModelConfig | str | None) -> str | None:
    """The tier a run's model comes from: ``tier:NAME`` given as the model, else (no model
    given) the suite's ``model: tier:NAME``, else (no suite model either) the one tier
    the suite's generation kinds name. ``None`` when the model is not a tier's."""
    if model is not None:
        return tier_name(model)
    if suite.model is not None:
        return suite.model.name if suite.model.provider == TIER_PROVIDER else None
    return kind_tier(suite)


def kind_tier(suite: Suite) -> str | None:
    """The one model tier the suite's generation kinds name, if they name exactly one."""
    # a dataset's cases: only those with metadata are decoded (not 100k for none)
    cases = suite.cases.with_metadata() if isinstance(suite.cases, CaseList) else suite.cases
    tiers = {c.metadata.get("kind_tier") for c in cases if c.metadata}
    tiers.discard(None)
    return str(next(iter(tiers))) if len(tiers) == 1 else None


def suite_folder(suite: Suite) -> Path | None:
    """The folder of the suite's file, where files it names are looked for."""
    source = Path(suite.source) if suite.source and not suite.source.startswith("<") else None
    return source.parent if source is not None and source.is_file() else None


def prepare_run(
    store: Store,
    suite: Suite,
    *,
    model: ModelConfig | str | None = None,
    prompt_version: int | None = None,
    options: RunOptions | None = None,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
    experiment_id: str | None = None,
    title: str | None = None,
    description: str | None = None,
    workspace_id: str = "default",
    queued: Queued = None,
    register: bool = False,
    suite_hash: str | None = None,
) -> RunJob:
    """Validate everything up front, record the definitions and a ``pending`` run (owned
    by ``workspace_id``: the server's workspace of the request); return it as a job.
    ``queued``: gives the queue's columns (``DatabaseDispatcher.submit_recording``) as the
    run is recorded: it is recorded queued, in the one transaction. ``register``: the
    suite is registered in the workspace (``catalog.register_suite``) in it too.
    ``suite_hash``: ``suite.hash`` when the caller knows it (a registered suite's: hashing
    reads every case, 0.5 s at 100,000 of them)."""
    options = _with_derived(options or RunOptions(), suite)
    config, version = _config_version(suite, model, prompt_version)
    try:
        cases = suite.select(options.case_ids)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    _check_variables(suite, version, cases)
    provider, options = _provider(config, options)
    run = _record(
        suite, config, version, options, model=model, suite_hash=suite_hash or suite.hash,
        title=title, description=description, tags=tags, alias=alias, label=label,
        experiment_id=experiment_id, workspace_id=workspace_id,
    )  # fmt: skip
    run.counts.total = len(cases) * options.epochs
    first = None
    if register:
        from evalbook.storage.catalog import register_suite

        def first(conn: Any) -> bool:
            # Registered now or before with this content: suite and prompt versions are
            # recorded (a conflict maps the version to other content: written then).
            registered = register_suite(
                store, workspace_id, suite, conn=conn, suite_hash=run.suite_hash
            )
            return registered[1] != "conflict"

    # The definitions and the run in one write transaction (one turn at SQLite's lock).
    store.save_definitions(
        suite, suite.prompt.name, version, config, workspace_id=workspace_id, run=run,
        run_columns=None if queued is None else queued(), first=first,
    )  # fmt: skip
    return RunJob(run, suite, version, config, provider)


def prepare_streamed(
    store: Store,
    source: StreamedSuite,
    head: Suite,
    *,
    model: ModelConfig | str | None = None,
    prompt_version: int | None = None,
    options: RunOptions | None = None,
    alias: str | None = None,
    label: str | None = None,
    tags: list[str] | None = None,
    experiment_id: str | None = None,
    title: str | None = None,
    workspace_id: str = "default",
) -> RunJob:
    """:func:`prepare_run` for a suite still loading (``head``: the suite without its
    cases; see ``executor/streamed.py``): what needs no case is checked now; the run is
    recorded by its executor once ``source`` has loaded the whole suite and the checks
    that need every case pass. The job's run has its id; nothing is written yet."""
    options = _with_derived(options or RunOptions(), head)
    if options.case_ids:
        raise ConfigError("a streamed run runs every case; select cases on a loaded suite")
    config, version = _config_version(head, model, prompt_version)
    provider, options = _provider(config, options)
    run = _record(
        head, config, version, options, model=model, suite_hash="", title=title,
        description=None, tags=tags, alias=alias, label=label, experiment_id=experiment_id,
        workspace_id=workspace_id,
    )  # fmt: skip

    def record(suite: Suite) -> None:
        _check_variables(suite, version, suite.cases)
        run.suite_hash = suite.hash
        run.counts.total = len(suite.cases) * options.epochs
        run.status = RunStatus.running
        run.started_at = datetime.now(UTC)
        store.save_definitions(
            suite, suite.prompt.name, version, config, workspace_id=workspace_id, run=run
        )

    return RunJob(run, head, version, config, provider, stream=RunStream(source, record))


def _with_derived(options: RunOptions, suite: Suite) -> RunOptions:
    """``options`` with the suite's ``derived_metrics:`` unless they name their own: how
    to report the run travels with it (the stored suite leaves them out of its hash), so
    whoever finishes the run computes them."""
    if suite.derived_metrics and not options.derived_metrics:
        return options.model_copy(update={"derived_metrics": list(suite.derived_metrics)})
    return options


def _config_version(
    suite: Suite, model: ModelConfig | str | None, prompt_version: int | None
) -> tuple[ModelConfig, PromptVersion]:
    """The model config and prompt version of a run, each checked."""
    config = resolve_config(resolve_model(suite, model), base_dir=suite_folder(suite))
    try:
        return config, suite.prompt.get(prompt_version)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None


def _provider(config: ModelConfig, options: RunOptions) -> tuple[Provider, RunOptions]:
    """The run's provider (building it checks the config, and its price for a budget),
    and ``options`` saying how many items it can keep in flight when the endpoint takes
    fewer than ``concurrency`` (``RunOptions.in_flight``)."""
    provider = create_provider(config)
    provider.run_concurrency = options.concurrency
    if options.max_cost is not None and provider.price() is None:
        raise ConfigError(
            f"--max-cost needs a known price for {config.spec}; add `price: {{input_per_mtok: …,"
            " output_per_mtok: …}}` to the model config"
        )
    limit = provider.max_connections
    in_flight = limit if limit < options.concurrency else None
    if in_flight != options.in_flight:
        options = options.model_copy(update={"in_flight": in_flight})
    return provider, options


def _check_variables(suite: Suite, version: PromptVersion, cases: Sequence[Case]) -> None:
    missing = missing_variables_everywhere(version, cases)
    if missing:
        raise TemplateError(
            f"suite {suite.id!r}: prompt {suite.prompt.name!r} v{version.version} uses"
            f" {', '.join(sorted(missing))}, which no selected case defines; every case would"
            " fail, so the run was not started",
            variable=sorted(missing)[0],
        )


def _record(
    suite: Suite,
    config: ModelConfig,
    version: PromptVersion,
    options: RunOptions,
    *,
    model: ModelConfig | str | None,
    suite_hash: str,
    title: str | None,
    description: str | None,
    tags: list[str] | None,
    alias: str | None,
    label: str | None,
    experiment_id: str | None,
    workspace_id: str,
) -> RunRecord:
    now = datetime.now(UTC)
    return RunRecord(
        id=str(uuid.uuid4()),
        title=title or f"{suite.name} · {config.spec} · {suite.prompt.name} v{version.version}",
        description=description,
        status=RunStatus.pending,
        tags=sorted(set(suite.tags) | set(tags or [])),
        run_date=now.date().isoformat(),
        alias=alias,
        label=label,
        experiment_id=experiment_id,
        suite_id=suite.id,
        suite_name=suite.name,
        suite_version=suite.version,
        suite_hash=suite_hash or suite.hash,  # (a streamed run's is known once it loads)
        prompt_name=suite.prompt.name,
        prompt_version=version.version,
        prompt_hash=version.hash,
        model=config.model_dump(mode="json", exclude_none=True),
        model_hash=config.hash,
        tier=run_tier(suite, model),
        threshold=suite.threshold,
        options=options,
        workspace_id=workspace_id,
        evalbook_version=__version__,
        created_at=now,
    )


def load_for_resume(store: Store, run_id: str) -> RunJob:
    """The recorded run as a job, with the exact suite, prompt version and model it was
    started with."""
    run = store.get_run(run_id)
    if run.rescored_from is not None:
        raise UserError(
            f"run {run.id} re-scored run {run.rescored_from} without model calls; resuming"
            " would call the model — re-score the source again instead (evalbook rescore)"
        )
    if run.status is RunStatus.completed and run.counts.errored == 0:
        total = run.counts.total
        statuses = store.result_statuses(run.id)
        if len(statuses) >= total:
            raise UserError(
                f"run {run.id} is completed with every case recorded; nothing to resume"
            )
    suite = store.get_suite(run.suite_hash)
    version = store.get_prompt_version(
        run.prompt_name, run.prompt_version, workspace_id=run.workspace_id
    )
    config = ModelConfig.model_validate(run.model)
    provider = create_provider(config)
    provider.run_concurrency = run.options.concurrency
    return RunJob(run, suite, version, config, provider)


def _never() -> bool:
    return False


async def execute(
    store: Store,
    job: RunJob,
    *,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
    suspended: Callable[[], bool] = _never,
    items: range | None = None,
    flush_events: Callable[[], Awaitable[None]] | None = None,
) -> RunRecord:
    """Execute ``job`` to its end and close its provider; return the run as recorded.

    Canceling the call cancels the run (recorded ``canceled``, finished results kept),
    unless ``suspended()`` is true by then: a worker shutting down leaves the run
    ``running``, with its results flushed, for the next claim to resume.

    ``items``: execute only the plan positions in this range (a fleet's shard) that are
    not recorded yet, leaving the run's record to whoever finishes the run; the returned
    record is then not written, and its ``stop_reason`` says why the part stopped early
    (None: every item ran). Canceling stops the part with its results flushed.

    ``flush_events``: writes what ``on_event`` buffers (a worker's progress log); the
    executor awaits it before it records the run's end.
    """
    try:
        return await RunExecutor(
            store,
            job.run,
            job.suite,
            job.version,
            job.config,
            job.provider,
            on_event=on_event,
            retry=retry,
            suspended=suspended,
            items=items,
            flush_events=flush_events,
            stream=job.stream,
        ).execute()
    finally:
        await job.provider.aclose()
