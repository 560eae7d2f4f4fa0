"""The ``model:`` of a suite file: a spec string or a mapping, as a :class:`ModelConfig`.

Forms: ``"openai:gpt-4o-mini"``; ``{provider: openai, name: gpt-4o-mini, temperature: 0}``;
``{spec: "openai:gpt-4o-mini", temperature: 0}``; a website's chat page:
``"browser:sites/chat.yaml"`` or ``{provider: browser, profile: {url: …, input: …}}`` (the
inline profile is kept as ``params.profile``; ``name`` defaults to the profile's name).
Whether the provider exists is not checked here (the executor resolves providers, which
may be plugins installed later); the shape of the spec is.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.errors import ConfigError
from evalbook.suites.problems import Problems, Where
from evalbook.suites.yaml_lines import plain

__all__ = ["build_model"]


def build_model(raw: Any, where: Where, problems: Problems) -> ModelConfig | None:
    """The suite's default model, or ``None`` (none given, or a problem was recorded)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return parse_model_spec(raw)
        except ConfigError as exc:
            problems.add(where, str(exc))
            return None
    if not isinstance(raw, dict):
        problems.add(where, "must be a spec string ('provider:model') or a mapping")
        return None
    data: dict[str, Any] = plain(raw)
    if "spec" in data:
        spec = data.pop("spec")
        if "provider" in data or "name" in data:
            problems.add(where, "give either 'spec' or 'provider' and 'name', not both")
            return None
        if not isinstance(spec, str):
            problems.add(where, "must be a string such as 'openai:gpt-4o-mini'", ("spec",))
            return None
        try:
            base = parse_model_spec(spec)
        except ConfigError as exc:
            problems.add(where, str(exc), ("spec",))
            return None
        fields: dict[str, Any] = {"provider": base.provider, "name": base.name}
        if base.base_url is not None:
            fields["base_url"] = base.base_url
        data = {**fields, **data}
    if "profile" in data:
        profile = data.pop("profile")
        if not isinstance(profile, dict):
            problems.add(where, "must be a mapping (a site profile: url, input, …)", ("profile",))
            return None
        data["params"] = {**(data.get("params") or {}), "profile": profile}
        data.setdefault("name", str(profile.get("name") or "site"))
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(where, exc)
        return None
