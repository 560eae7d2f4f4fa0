"""What a request may not make the server do, whoever holds the key.

A suite or model config sent over HTTP is run by the server, with the server's files,
code and secrets within reach. The CLI trusts its user; the API trusts a key holder
only with data:

- **Secrets come only from the server's environment, and only those the operator
  offers.** A request names a variable (``api_key_env``), never a value: key-like fields
  anywhere in a model config are refused. The variables a request may name — by
  ``api_key_env`` or by using a provider that reads one by default (``openai`` reads
  ``OPENAI_API_KEY``) — are the operator's list (``evalbook serve --provider-secret
  NAME``, ``EVALBOOK_PROVIDER_SECRETS``); evalbook's own (``EVALBOOK_*``) never are.
  A config that points at its own ``base_url`` cannot also use a key (``api_key_env``,
  or a provider that sends ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` by default), or it
  would send the server's key to an address of the requester's choosing.
- **Model endpoints only on hosts the operator allowed.** ``base_url`` (or the default
  loopback endpoint of ``vllm`` / ``ollama``) must be ``http(s)`` and public unless the
  operator allowed the host (:mod:`evalbook.providers.endpoints`); the server's worker
  checks the address again at every connection.
- **No code and no server files.** The ``python`` provider and scorer import code by
  name, ``code-exec`` runs what the model wrote, a ``local`` model path and an
  embedding ``model_path`` read the server's disk: all refused. (Suites posted over
  HTTP already cannot include dataset files or image paths: there is no base folder.)

Judges inside a suite's scorers are model configs too, and get the same checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from evalbook.core.model_config import ModelConfig
from evalbook.core.secrets import secret_fields, url_secrets
from evalbook.core.suite import ScorerSpec
from evalbook.errors import ConfigError, UserError
from evalbook.providers.endpoints import check_endpoint

__all__ = [
    "REFUSED_PROVIDERS",
    "REFUSED_SCORERS",
    "SECRETS_ENV",
    "check_model",
    "check_suite_data",
    "offer_secrets",
    "offered_secrets",
    "secret_fields",
]

REFUSED_PROVIDERS = frozenset({"python"})
REFUSED_SCORERS = frozenset({"python", "code-exec"})
#: Providers that send a key from the environment by default (to ``base_url`` if set).
_KEYED_BY_DEFAULT = frozenset({"openai", "anthropic", "huggingface"})
_KEY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_(API_KEY|KEY|TOKEN)$")
#: The key variables requests may use, comma-separated (``--provider-secret`` adds).
SECRETS_ENV = "EVALBOOK_PROVIDER_SECRETS"
#: The variables a provider reads its key from when the model names none, in the order it
#: tries them (``providers/huggingface.py``: the first that is set).
_DEFAULT_KEY_ENVS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "huggingface": ("HF_TOKEN", "HF_API_TOKEN"),
}


def _check_secret_name(name: str, where: str) -> None:
    if name.upper().startswith("EVALBOOK_"):
        raise ConfigError(f"{where}: {name!r} is one of evalbook's own secrets; never offered")
    if not _KEY_ENV.match(name):
        raise ConfigError(
            f"{where}: {name!r} must name a key variable (UPPER_CASE ending in _API_KEY, _KEY"
            " or _TOKEN)"
        )


def offered_secrets() -> frozenset[str]:
    """The key variables of the server's environment a request may use."""
    names = {n.strip() for n in os.environ.get(SECRETS_ENV, "").split(",")} - {""}
    for name in names:
        _check_secret_name(name, SECRETS_ENV)
    return frozenset(names)


def offer_secrets(names: Iterable[str]) -> None:
    """Add ``names`` to this process's offered secrets (``--provider-secret``)."""
    names = [n.strip() for n in names if n.strip()]
    for name in names:
        _check_secret_name(name, "--provider-secret")
    if names:
        os.environ[SECRETS_ENV] = ",".join(sorted(offered_secrets() | set(names)))


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
    key_env = config.api_key_env or _default_key_env(config.provider)
    if key_env is not None and key_env not in offered_secrets():
        own = key_env.upper().startswith("EVALBOOK_")
        raise ConfigError(
            f"{where}: {key_env} is one of evalbook's own secrets, never offered to requests"
            if own
            else f"{where}: this server does not offer the key {key_env} to requests (its"
            f" operator can: evalbook serve --provider-secret {key_env})"
        )
    if config.base_url and (in_url := url_secrets(config.base_url)):
        raise ConfigError(
            f"{where}: base_url holds {', '.join(in_url)}; the API never accepts secrets"
        )
    endpoint = config.base_url or _default_endpoint(config.provider)
    if endpoint is not None:
        check_endpoint(endpoint, f"{where}: base_url")


def _default_key_env(provider: str) -> str | None:
    """The variable ``provider`` would read its key from here: the first of its defaults
    that is set (the first when none is), None for a provider without one."""
    names = _DEFAULT_KEY_ENVS.get(provider)
    if not names:
        return None
    return next((name for name in names if os.environ.get(name)), names[0])


def _default_endpoint(provider: str) -> str | None:
    """The URL a provider calls when no base_url is given, if it is a fixed address
    (``vllm`` and ``ollama`` default to loopback ports); None for providers without one."""
    from evalbook.providers.registry import PROVIDERS

    try:
        cls = PROVIDERS.get(provider)
    except UserError:
        return None  # unknown: reported when the run is prepared
    default = getattr(cls, "default_base_url", None)
    return default if isinstance(default, str) else None


def check_suite_data(data: Mapping[str, Any]) -> None:
    """Refuse a suite (as posted, before it is built: building imports ``python``
    scorers) whose scorers run code, read the server's files or use a refused judge."""
    from evalbook.scorers.judges.llm_judge import judge_config
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
