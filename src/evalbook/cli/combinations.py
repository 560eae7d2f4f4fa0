"""The combinations ``evalbook run`` runs: flags, else the suite's matrix, else one.

Kept apart from :mod:`evalbook.cli.matrix` so that a single run never loads the
comparison machinery the matrix's closing table needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.core.run import RunOptions
from evalbook.core.suite import MatrixModel, Suite
from evalbook.errors import ConfigError
from evalbook.executor.launch import resolve_model, suite_folder

__all__ = [
    "Combination",
    "check_models",
    "combinations",
    "options_for",
    "stand_in_notice",
    "with_base_url",
]

#: Providers that call an HTTP endpoint, so ``--base-url`` can point them elsewhere.
_HTTP_PROVIDERS = frozenset(
    {"openai", "openai-compatible", "ollama", "vllm", "anthropic", "huggingface"}
)


def with_base_url(config: ModelConfig, base_url: str) -> ModelConfig:
    """``config`` sending its requests to ``base_url`` (an OpenAI model becomes an
    OpenAI-compatible one there, which needs no key)."""
    if config.provider not in _HTTP_PROVIDERS:
        raise ConfigError(
            f"--base-url needs a model that calls an HTTP endpoint, not {config.spec!r}"
        )
    update: dict[str, object] = {"base_url": base_url}
    if config.provider == "openai":
        update.update(provider="openai-compatible", api_key_env=None)
    return config.model_copy(update=update)


@dataclass(frozen=True)
class Combination:
    """One cell of the matrix: a model (spec or config; None: the suite's) and a prompt
    version (None: the latest); ``name`` is the model's label in the suite's ``models:``."""

    model: ModelConfig | str | None
    version: int | None
    name: str | None = None
    #: Where the suite (or the imported file) defines the model, for errors about it.
    origin: str | None = None

    def label(self, suite: Suite) -> str:
        if self.name is not None:
            model = self.name
        elif isinstance(self.model, ModelConfig):
            model = self.model.spec
        elif self.model and ":" in self.model:
            model = parse_model_spec(self.model).spec  # without an @base_url
        else:
            model = self.model or (suite.model.spec if suite.model else "default model")
        version = self.version or suite.prompt.get(None).version
        return f"{model} · v{version}"


def combinations(
    suite: Suite, models: list[str], versions: list[int], base_url: str | None
) -> list[Combination]:
    """Every (model, prompt version) to run: ``--model``/``--prompt-version`` flags, else
    the suite's ``models:``/``prompt_versions:``, else its model and latest version;
    ``--model LABEL`` picks that model of the suite's ``models:`` (so a run can leave out
    the models it has no key for), and so does ``--model provider:name`` naming exactly
    one of them (its ``case_filters:`` then apply as written); any other spec stands in
    for every model of the suite (:func:`stand_in_notice`); ``--base-url`` sends every
    model's requests there."""
    axis: list[tuple[ModelConfig | str | None, str | None, str | None]]
    if models:
        axis = [_chosen(suite, m) for m in models]
    elif suite.models:
        axis = [(m.model, m.label, m.origin) for m in suite.models]
    else:
        axis = [(None, None, None)]
    version_axis: list[int | None] = [*(versions or suite.prompt_versions)] or [None]
    # a model's own prompt_versions: (promptfoo's providerPromptMap), unless the flags
    # chose the versions
    own = {} if versions else {m.label: m.prompt_versions for m in suite.models}
    if base_url is not None:
        axis = [(with_base_url(resolve_model(suite, m), base_url), n, o) for m, n, o in axis]
    return [
        Combination(m, v, n, o)
        for m, n, o in axis
        for v in version_axis
        if v is None or not own.get(n or "") or v in (own.get(n or "") or ())
    ]


def _chosen(suite: Suite, wanted: str) -> tuple[ModelConfig | str, str | None, str | None]:
    found: MatrixModel | None = next((m for m in suite.models if m.label == wanted), None)
    if found is None and ":" in wanted and "@" not in wanted:
        spec = parse_model_spec(wanted).spec
        same = [m for m in suite.models if m.model.spec == spec]
        found = same[0] if len(same) == 1 else None
    if found is not None:
        return found.model, found.label, found.origin
    if suite.models and ":" not in wanted:
        labels = ", ".join(repr(m.label) for m in suite.models)
        raise ConfigError(
            f"--model {wanted!r} is neither a label of the suite's models ({labels}) nor a"
            " provider:model spec"
        )
    return wanted, None, None


def check_models(suite: Suite, combos: list[Combination]) -> None:
    """Build every combination's provider once, before anything is recorded, so a model
    that cannot run (a key that is not set, an unknown provider) stops the whole matrix
    up front with every such model named where it is defined, never half of it run."""
    from evalbook.providers.registry import create_provider, resolve_config

    problems: list[str] = []
    seen: set[str] = set()
    for combo in combos:
        config = resolve_model(suite, combo.model)
        if config.hash in seen:
            continue
        seen.add(config.hash)
        try:
            provider = create_provider(resolve_config(config, base_dir=suite_folder(suite)))
        except ConfigError as exc:
            name = combo.name or config.spec
            where = f" ({combo.origin})" if combo.origin else ""
            problems.append(f"model {name!r}{where}: {exc}")
            continue
        asyncio.run(provider.aclose())
    if not problems:
        return
    advice = "set what is missing" + (
        ", or choose the models to run with --model LABEL" if len(seen) > 1 else ""
    )
    listed = "".join(f"\n  {p}" for p in problems)
    raise ConfigError(f"nothing was run; a model cannot run:{listed}\n{advice}")


def stand_in_notice(suite: Suite, combos: list[Combination]) -> str | None:
    """What to tell the user when ``--model SPEC`` names none of the suite's models
    while some cases run only with some of them (``case_filters:``, a promptfoo test's
    ``providers:`` or own ``provider:``): the spec stands in for every model, so those
    cases run with it too (their prompt-version filters still apply). ``None`` when
    nothing is stood in for."""
    limited = sorted(c for c, f in suite.case_filters.items() if f.models is not None)
    strangers = [c for c in combos if c.name is None and c.model is not None]
    if not limited or not strangers or not suite.models:
        return None
    names = ", ".join(sorted({str(c.label(suite)).rsplit(" · ", 1)[0] for c in strangers}))
    shown = ", ".join(limited[:5]) + (f" and {len(limited) - 5} more" if len(limited) > 5 else "")
    return (
        f"--model {names} is none of the suite's models: it stands in for all of them, so"
        f" the {len(limited)} case(s) the suite runs only with some of its models ({shown})"
        " run with it too; to keep those limits, choose the suite's models by label"
        " (--model LABEL) and point them elsewhere with --base-url"
    )


def options_for(suite: Suite, combo: Combination, options: RunOptions) -> RunOptions | None:
    """``options`` with the cases this combination runs, by the suite's ``case_filters:``
    (unchanged without filters); ``None`` when no case runs in it."""
    if not suite.case_filters:
        return options
    version = combo.version or suite.prompt.get(None).version
    wanted = set(options.case_ids) if options.case_ids else None
    chosen = [
        c.id
        for c in suite.cases
        if (wanted is None or c.id in wanted)
        and (c.id not in suite.case_filters or suite.case_filters[c.id].admits(combo.name, version))
    ]
    if not chosen:
        return None
    if wanted is None and len(chosen) == len(suite.cases):
        return options
    return options.model_copy(update={"case_ids": chosen})
