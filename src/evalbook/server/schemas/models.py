"""Model configs as a request gives them: ``"provider:name"`` or an object, never a secret."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.errors import ConfigError
from evalbook.providers.tiers import resolve_tier, tier_name
from evalbook.server.schemas.common import INT32, Strict
from evalbook.server.schemas.policy import check_model

__all__ = ["ModelConfigIn", "ModelIn", "PriceIn", "model_from_request", "model_or_tier"]


class PriceIn(Strict):
    """US dollars per million tokens."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ModelConfigIn(Strict):
    """A model config (the fields of the library's ``ModelConfig``). There is no field for
    a key: ``api_key_env`` names an environment variable *of the server*; a key-like
    field anywhere (``params.api_key`` …) is refused with 422."""

    provider: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=500)
    version: str | None = Field(default=None, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=10)
    max_tokens: int | None = Field(default=None, ge=1, le=INT32)
    system_prompt: str | None = Field(default=None, max_length=100_000)
    seed: int | None = Field(default=None, ge=-INT32, le=INT32)
    stop: list[str] | None = Field(default=None, max_length=16)
    params: dict[str, Any] | None = None
    base_url: str | None = Field(default=None, max_length=2000)
    api_key_env: str | None = Field(default=None, max_length=200)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    max_connections: int | None = Field(default=None, ge=1, le=1000)
    rpm: int | None = Field(default=None, ge=1, le=10_000_000)
    tpm: int | None = Field(default=None, ge=1, le=10_000_000_000)
    price: PriceIn | None = None


#: ``"provider:name[@base_url]"`` or a :class:`ModelConfigIn` object.
ModelIn = str | ModelConfigIn


def model_or_tier(raw: ModelIn, where: str = "model") -> ModelConfig | str:
    """A request's model, or a model tier ``"tier:NAME"`` kept as given: the operator's
    settings map it to a model when the run is prepared (and the run records both), so
    the policy for requested configs does not apply; an unknown tier is a 422 now."""
    tier = tier_name(raw)
    if tier is not None:
        resolve_tier(tier)
        return str(raw)
    return model_from_request(raw, where)


def model_from_request(raw: ModelIn, where: str = "model") -> ModelConfig:
    """The library's model config for a request's model, checked against the policy
    (:mod:`evalbook.server.schemas.policy`); a bad one raises ``ConfigError`` (422)."""
    if isinstance(raw, str):
        if len(raw) > 2000:
            raise ConfigError(f"{where}: a model spec is at most 2000 characters")
        config = parse_model_spec(raw)
    else:
        fields = raw.model_dump(exclude_unset=True)
        if fields.get("params") is None:
            fields.pop("params", None)
        try:
            config = ModelConfig.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{where}: {problems}") from None
    check_model(config, where)
    return config
