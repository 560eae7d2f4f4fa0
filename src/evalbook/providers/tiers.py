"""Model tiers: ``standard``, ``fast``, ``premium`` (names are configurable) → model configs.

Seed 004: "the runner uses the standard tier for that kind". A tier is a name the
operator maps to a model, so that suites, kinds and API callers say *what kind of model*
they want and the operator says *which*. Where the mapping comes from, first found:

- ``EVALBOOK_TIERS``: JSON (``{"standard": "openai:gpt-4o-mini", "fast": {...}}``) or the
  path of a YAML/JSON file holding that mapping;
- ``$EVALBOOK_HOME/tiers.yaml``.

Values are model specs or model-config mappings. Every default tier not mapped is the
embedded local model; further names add tiers. The mapping is read at each use, so a
change applies to the next run, and the run records the tier and the model it became.
A tier is the operator's setting, so the API's model policy does not apply to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evalbook.config import evalbook_home
from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, parse_model_spec
from evalbook.errors import ConfigError, UnknownNameError

__all__ = [
    "DEFAULT_TIERS",
    "TIER_PREFIX",
    "TIER_PROVIDER",
    "load_tiers",
    "resolve_tier",
    "tier_name",
]

DEFAULT_TIERS = ("standard", "fast", "premium")
TIER_PREFIX = "tier:"
#: A suite file's ``model: tier:NAME`` parses as a model config of this "provider" (and
#: ``name`` NAME): a marker the launcher resolves through the settings, never a provider.
TIER_PROVIDER = "tier"


def tier_name(spec: object) -> str | None:
    """``"standard"`` for a model spec ``"tier:standard"``, else ``None``."""
    if isinstance(spec, str) and spec.startswith(TIER_PREFIX):
        return spec[len(TIER_PREFIX) :].strip()
    return None


def _raw_setting() -> tuple[Any, str] | None:
    value = os.environ.get("EVALBOOK_TIERS", "").strip()
    if value:
        if value.startswith("{"):
            try:
                return json.loads(value), "EVALBOOK_TIERS"
            except ValueError as exc:
                raise ConfigError(f"EVALBOOK_TIERS is not valid JSON: {exc}") from None
        return _read(Path(value).expanduser()), value
    default = evalbook_home() / "tiers.yaml"
    return (_read(default), str(default)) if default.is_file() else None


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"tier settings {str(path)!r} cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"tier settings {path}: not valid YAML: {exc}") from None


def load_tiers() -> dict[str, ModelConfig]:
    """Every tier and its model config, from the settings (see the module docstring)."""
    tiers = {name: parse_model_spec(DEFAULT_MODEL_SPEC) for name in DEFAULT_TIERS}
    found = _raw_setting()
    if found is None:
        return tiers
    raw, source = found
    if not isinstance(raw, dict):
        raise ConfigError(f"tier settings {source}: a mapping of tier name → model")
    for name, value in raw.items():
        where = f"tier settings {source}: tier {name!r}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: a tier name is a non-empty string")
        try:
            if isinstance(value, str):
                if tier_name(value) is not None:
                    raise ConfigError(f"{where}: a tier maps to a model, not to another tier")
                tiers[name] = parse_model_spec(value)
            elif isinstance(value, dict):
                tiers[name] = ModelConfig.model_validate(value)
            else:
                raise ConfigError(f"{where}: a model spec ('provider:model') or a mapping")
        except ValidationError as exc:
            raise ConfigError(f"{where}: {exc.errors()[0]['msg']}") from None
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") if where not in str(exc) else exc from None
    return tiers


def resolve_tier(name: str) -> ModelConfig:
    """The model config of tier ``name``; an unknown tier names the known ones."""
    tiers = load_tiers()
    if name not in tiers:
        raise UnknownNameError("model tier", name, list(tiers))
    return tiers[name]
