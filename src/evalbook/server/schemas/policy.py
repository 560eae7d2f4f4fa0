"""What a request may not make the server do, whoever holds the key.

A suite or model config sent over HTTP is run by the server, with the server's files,
code and secrets within reach. The CLI trusts its user; the API trusts a key holder
only with data:

- **Secrets come only from the server's environment.** A request names a variable
  (``api_key_env``, which must look like ``*_API_KEY`` / ``*_KEY`` / ``*_TOKEN``), never a
  value: key-like fields anywhere in a model config are refused. A config that points
  at its own ``base_url`` cannot also use a key (``api_key_env``, or a provider that
  sends ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` by default), or it would send the
  server's key to an address of the requester's choosing.
- **No code and no server files.** The ``python`` provider and scorer import code by
  name, ``code-exec`` runs what the model wrote, a ``local`` model path and an
  embedding ``model_path`` read the server's disk: all refused. (Suites posted over
  HTTP already cannot include dataset files or image paths: there is no base folder.)

Judges inside a suite's scorers are model configs too, and get the same checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import ScorerSpec
from evalbook.errors import ConfigError

__all__ = [
    "REFUSED_PROVIDERS",
    "REFUSED_SCORERS",
    "check_model",
    "check_suite_data",
    "secret_fields",
]

REFUSED_PROVIDERS = frozenset({"python"})
REFUSED_SCORERS = frozenset({"python", "code-exec"})
#: Providers that send a key from the environment by default (to ``base_url`` if set).
_KEYED_BY_DEFAULT = frozenset({"openai", "anthropic"})
_KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_(API_KEY|KEY|TOKEN)$")
_SECRET_NAME = re.compile(
    r"(^|[_-])(api[_-]?key|apikey|secret|password|passwd|authorization|bearer|credentials?)"
    r"($|[_-])|access[_-]?token|auth[_-]?token|^token$",
    re.IGNORECASE,
)
_ALLOWED_NAMES = frozenset({"api_key_env", "apiKeyEnv"})


def secret_fields(value: Any, path: str = "") -> Iterator[str]:
    """Paths of mapping keys in ``value`` that look like they carry a secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key) not in _ALLOWED_NAMES and _SECRET_NAME.search(str(key)):
                yield here
            yield from secret_fields(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from secret_fields(item, f"{path}[{i}]")


def check_model(config: ModelConfig, where: str = "model") -> None:
    """Refuse a model config a request may not use (see the module docstring)."""
    if config.provider in REFUSED_PROVIDERS:
        raise ConfigError(
            f"{where}: provider {config.provider!r} runs code on the server and cannot be"
            " used over the API; run such suites with the CLI"
        )
    if config.provider == "browser":
        raise ConfigError(
            f"{where}: the browser provider drives a browser on the server, with its saved"
            " logins and files; the operator can offer it as a model tier (EVALBOOK_TIERS),"
            " or run it with the CLI"
        )
    if config.provider == "local" and (
        any(ch in config.name for ch in "/\\~") or config.name.lower().endswith(".gguf")
    ):
        raise ConfigError(
            f"{where}: a local model file path cannot be named over the API; use"
            " 'local:smollm2-135m' or serve the model behind an OpenAI-compatible endpoint"
        )
    found = sorted(secret_fields(config.params, "params"))
    if found:
        raise ConfigError(
            f"{where}: {', '.join(found)} looks like a secret; the API never accepts secrets"
            " — name an environment variable of the server with api_key_env instead"
        )
    if config.api_key_env is not None and not _KEY_ENV.match(config.api_key_env):
        raise ConfigError(
            f"{where}: api_key_env {config.api_key_env!r} must name a key variable of the"
            " server's environment (UPPER_CASE ending in _API_KEY, _KEY or _TOKEN)"
        )
    if config.base_url is not None and (
        config.api_key_env is not None or config.provider in _KEYED_BY_DEFAULT
    ):
        raise ConfigError(
            f"{where}: a base_url cannot be combined with an API key from the server's"
            " environment (it would send the server's key to that address); use a"
            " key-less endpoint (openai-compatible, vllm, ollama) or drop base_url"
        )


def check_suite_data(data: Mapping[str, Any]) -> None:
    """Refuse a suite (as posted, before it is built: building imports ``python``
    scorers) whose scorers run code, read the server's files or use a refused judge."""
    from evalbook.scorers.judge import judge_config
    from evalbook.scorers.registry import parse_scorer_spec

    for where, raw in _scorer_items(data):
        try:
            spec: ScorerSpec = parse_scorer_spec(raw)
        except ValueError:
            continue  # the suite loader reports it, with its line
        base = spec.base_type
        if base in REFUSED_SCORERS:
            raise ConfigError(
                f"{where}: scorer {base!r} runs code on the server and cannot be used in a"
                " suite sent over the API; run such suites with the CLI"
            )
        if base == "embedding-similarity" and "model_path" in spec.config:
            raise ConfigError(f"{where}: model_path reads the server's files; leave it out")
        judges = [spec.config.get("judge"), *(spec.config.get("panel") or [])]
        for i, judge in enumerate(j for j in judges if isinstance(j, str | dict)):
            found = sorted(secret_fields(judge)) if isinstance(judge, dict) else []
            if found:
                raise ConfigError(f"{where}: judge field {found[0]} looks like a secret")
            try:
                config = judge_config(judge, temperature=0.0, seed=0, max_tokens=512)
            except ValueError:
                continue  # the scorer reports it when the suite is built
            check_model(config, f"{where} judge {i + 1}")


def _scorer_items(data: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key in ("scorers", "render_assertions"):
        items = data.get(key)
        if isinstance(items, list):
            for i, raw in enumerate(items):
                yield f"{key}[{i}]", raw
    cases = data.get("cases")
    if isinstance(cases, list):
        for n, case in enumerate(cases):
            scorers = case.get("scorers") if isinstance(case, Mapping) else None
            if isinstance(scorers, list):
                for i, raw in enumerate(scorers):
                    yield f"cases[{n}].scorers[{i}]", raw
