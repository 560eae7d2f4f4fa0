"""What is never recorded: a secret inside a model config.

A model config is stored with every run (the database, exports, pages, the API), so it
holds the *name* of the variable with the key (``api_key_env``), never a value. Anything
that would put a value there is refused wherever a run is prepared — the CLI, the Python
API and the server alike — with a message saying how to pass the key instead:

- a parameter whose name looks like a key (``api_key``, ``headers.Authorization``,
  ``client_secret``, ``access_token`` …, at any depth of ``params``);
- a ``base_url`` with credentials (``https://user:pass@host``) or a key-like query
  parameter (``?api_key=…``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError

__all__ = ["check_no_secrets", "secret_fields", "url_secrets"]

_SECRET_NAME = re.compile(
    r"(^|[_-])(api[_-]?key|apikey|secret|password|passwd|authorization|bearer|credentials?)"
    r"($|[_-])|access[_-]?token|auth[_-]?token|^token$|^key$|^sig$|^signature$",
    re.IGNORECASE,
)
_ALLOWED_NAMES = frozenset({"api_key_env", "apiKeyEnv"})
#: ``…_env`` keys name an environment variable (``password_env: SITE_PASSWORD``): a name
#: is not a secret, so long as the value looks like one.
_ENV_KEY = re.compile(r"(_env|Env)$")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Fields that a provider's own schema defines as something other than a secret: the
#: browser profile's ``login.password`` is the CSS selector of the site's password field.
_NOT_SECRETS = {"browser": frozenset({"params.profile.login.password"})}


def secret_fields(value: Any, path: str = "") -> Iterator[str]:
    """Paths of mapping keys in ``value`` that look like they carry a secret."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            names_a_variable = bool(_ENV_KEY.search(str(key))) and (
                isinstance(item, str) and _ENV_NAME.fullmatch(item) is not None
            )
            if (
                str(key) not in _ALLOWED_NAMES
                and not names_a_variable
                and _SECRET_NAME.search(str(key))
            ):
                yield here
            yield from secret_fields(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from secret_fields(item, f"{path}[{i}]")


def url_secrets(url: str) -> list[str]:
    """What in ``url`` looks like a secret: its credentials, key-like query parameters."""
    try:
        parts = urlsplit(url)
        found = ["credentials"] if parts.username or parts.password else []
    except ValueError:
        return []
    found += [f"?{k}" for k, _ in parse_qsl(parts.query) if _SECRET_NAME.search(k)]
    return found


def check_no_secrets(config: ModelConfig, where: str = "model") -> None:
    """Refuse a model config that would record a secret (see the module docstring)."""
    allowed = _NOT_SECRETS.get(config.provider, frozenset())
    found = sorted(set(secret_fields(config.params, "params")) - allowed)
    if found:
        raise ConfigError(
            f"{where}: {', '.join(found)} looks like a secret, and a model config is recorded"
            " with the run; put the key in an environment variable and name it with"
            " api_key_env"
        )
    if config.base_url and (in_url := url_secrets(config.base_url)):
        raise ConfigError(
            f"{where}: base_url holds {', '.join(in_url)}, and it is recorded with the run;"
            " put the key in an environment variable and name it with api_key_env"
        )
