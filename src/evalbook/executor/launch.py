"""Create, execute and resume runs: what the CLI, the Python API and the server call.

Everything that would doom every case is checked before a run is recorded: the prompt
version exists, the selected case ids exist, no template variable is missing from every
case, the provider is known, and ``max_cost`` has a price to work with.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from evalbook._version import __version__
from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, parse_model_spec
from evalbook.core.run import RunOptions, RunRecord, RunStatus
from evalbook.core.suite import PromptVersion, Suite
from evalbook.errors import ConfigError, TemplateError, UserError
from evalbook.executor.events import EventSink, ignore
from evalbook.executor.retry import RetryPolicy
from evalbook.executor.runner import RunExecutor
from evalbook.prompts.render import missing_variables_everywhere
from evalbook.providers.base import Provider
from evalbook.providers.registry import create_provider, resolve_config
from evalbook.providers.tiers import resolve_tier, tier_name
from evalbook.storage.store import Store


def resolve_model(suite: Suite, model: ModelConfig | str | None) -> ModelConfig:
    """Explicit model > the suite's default model > the embedded local model. A model
    ``tier:NAME`` is the model the settings give that tier (taken whole)."""
    if isinstance(model, ModelConfig):
        return model
    tier = tier_name(model)
    if tier is not None:
        return resolve_tier(tier)
    if model is not None:
        base = suite.model
        if base is not None:
            # Keep the suite's generation settings when only the model is swapped.
            fresh = parse_model_spec(model)
            keep = base.model_dump(
                exclude={"provider", "name", "base_url", "version", "price", "api_key_env"}
            )
            return ModelConfig(**{**keep, **fresh.model_dump(exclude_unset=True)})
        return parse_model_spec(model)
    if suite.model is None and (tier := kind_tier(suite)) is not None:
        return resolve_tier(tier)
    return suite.model or parse_model_spec(DEFAULT_MODEL_SPEC)


def kind_tier(suite: Suite) -> str | None:
    """The one model tier the suite's generation kinds name, if they name exactly one."""
    tiers = {c.metadata.get("kind_tier") for c in suite.cases if c.metadata}
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
) -> tuple[RunRecord, PromptVersion, ModelConfig, Provider]:
    """Validate everything up front, record the definitions and a ``pending`` run (owned
    by ``workspace_id``: the server's workspace of the request)."""
    options = options or RunOptions()
    config = resolve_config(resolve_model(suite, model), base_dir=suite_folder(suite))
    try:
        version = suite.prompt.get(prompt_version)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    try:
        cases = suite.select(options.case_ids)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    missing = missing_variables_everywhere(version, cases)
    if missing:
        raise TemplateError(
            f"suite {suite.id!r}: prompt {suite.prompt.name!r} v{version.version} uses"
            f" {', '.join(sorted(missing))}, which no selected case defines; every case would"
            " fail, so the run was not started",
            variable=sorted(missing)[0],
        )
    provider = create_provider(config)
    if options.max_cost is not None and provider.price() is None:
        raise ConfigError(
            f"--max-cost needs a known price for {config.spec}; add `price: {{input_per_mtok: …,"
            " output_per_mtok: …}}` to the model config"
        )
    suite_hash = store.save_definitions(suite, suite.prompt.name, version, config)
    now = datetime.now(UTC)
    run = RunRecord(
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
        suite_hash=suite_hash,
        prompt_name=suite.prompt.name,
        prompt_version=version.version,
        prompt_hash=version.hash,
        model=config.model_dump(mode="json", exclude_none=True),
        model_hash=config.hash,
        tier=tier_name(model)
        or (kind_tier(suite) if model is None and suite.model is None else None),
        threshold=suite.threshold,
        options=options,
        workspace_id=workspace_id,
        evalbook_version=__version__,
        created_at=now,
    )
    run.counts.total = len(cases) * options.epochs
    store.insert_run(run)
    return run, version, config, provider


def load_for_resume(
    store: Store, run_id: str
) -> tuple[RunRecord, Suite, PromptVersion, ModelConfig]:
    """The recorded run with the exact suite, prompt version and model it was started with."""
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
    version = store.get_prompt_version(run.prompt_name, run.prompt_version)
    config = ModelConfig.model_validate(run.model)
    return run, suite, version, config


async def execute(
    store: Store,
    run: RunRecord,
    suite: Suite,
    version: PromptVersion,
    config: ModelConfig,
    *,
    provider: Provider | None = None,
    on_event: EventSink = ignore,
    retry: RetryPolicy | None = None,
) -> RunRecord:
    provider = provider or create_provider(config)
    try:
        return await RunExecutor(
            store, run, suite, version, config, provider, on_event=on_event, retry=retry
        ).execute()
    finally:
        await provider.aclose()
