"""The combinations ``evalbook run`` runs: flags, else the suite's matrix, else one.

Kept apart from :mod:`evalbook.cli.matrix` so that a single run never loads the
comparison machinery the matrix's closing table needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.core.suite import Suite
from evalbook.errors import ConfigError
from evalbook.executor.launch import resolve_model

__all__ = ["Combination", "combinations", "with_base_url"]

#: Providers that call an HTTP endpoint, so ``--base-url`` can point them elsewhere.
_HTTP_PROVIDERS = frozenset({"openai", "openai-compatible", "ollama", "vllm", "anthropic"})


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
    ``--base-url`` sends every model's requests there."""
    axis: list[tuple[ModelConfig | str | None, str | None]]
    if models:
        axis = [(m, None) for m in models]
    elif suite.models:
        axis = [(m.model, m.label) for m in suite.models]
    else:
        axis = [(None, None)]
    version_axis: list[int | None] = [*(versions or suite.prompt_versions)] or [None]
    if base_url is not None:
        axis = [(with_base_url(resolve_model(suite, m), base_url), name) for m, name in axis]
    return [Combination(m, v, name) for m, name in axis for v in version_axis]
