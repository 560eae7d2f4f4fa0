"""Model configs: which model, with which generation parameters. Never a secret."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evalbook.core.identity import content_hash
from evalbook.errors import ConfigError

DEFAULT_MODEL_SPEC = "local:smollm2-135m"


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ModelConfig(BaseModel):
    """Provider + model + generation parameters.

    Transport knobs (``timeout_s``, ``max_connections``, ``rpm``, ``tpm``, ``api_key_env``)
    are kept apart
    from identity: changing them never changes a cache key or a model hash.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    name: str
    version: str | None = None
    temperature: float | None = 0.0
    max_tokens: int | None = Field(default=256, ge=1)
    system_prompt: str | None = None
    seed: int | None = None
    stop: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_connections: int | None = Field(default=None, ge=1)
    #: Requests and tokens per minute allowed on the endpoint. With ``EVALBOOK_REDIS_URL``
    #: set, these and ``max_connections`` hold across every process of the fleet.
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    price: Price | None = None

    @field_validator("api_key_env")
    @classmethod
    def _looks_like_env_name(cls, v: str | None) -> str | None:
        if v is not None and (not v or not v.replace("_", "").isalnum() or v[0].isdigit()):
            raise ValueError(
                "api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY),"
                " never the key itself"
            )
        return v

    def identity(self) -> dict[str, Any]:
        """What the model's answers depend on; transport and secrets left out."""
        return {
            "provider": self.provider,
            "name": self.name,
            "version": self.version,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "system_prompt": self.system_prompt,
            "seed": self.seed,
            "stop": self.stop,
            "params": self.params,
            "base_url": self.base_url,
        }

    @property
    def hash(self) -> str:
        return content_hash("model-config", self.identity())

    @property
    def spec(self) -> str:
        """The short ``provider:name`` form."""
        return f"{self.provider}:{self.name}"


def parse_model_spec(spec: str, **overrides: Any) -> ModelConfig:
    """Turn ``provider:name[@base_url]`` into a :class:`ModelConfig`.

    Examples: ``openai:gpt-4o-mini``, ``local:smollm2-135m``, ``local:/models/x.gguf``,
    ``python:mypkg.app:answer``, ``openai-compatible:my-model@http://127.0.0.1:8000/v1``.
    """
    if ":" not in spec:
        raise ConfigError(
            f"model spec {spec!r} must look like 'provider:model' (e.g. 'openai:gpt-4o-mini',"
            f" '{DEFAULT_MODEL_SPEC}')"
        )
    provider, name = spec.split(":", 1)
    base_url = None
    if "@" in name and provider != "python":
        name, base_url = name.rsplit("@", 1)
    if not provider or not name:
        raise ConfigError(f"model spec {spec!r} needs both a provider and a model name")
    fields: dict[str, Any] = {"provider": provider, "name": name}
    if base_url:
        fields["base_url"] = base_url
    fields.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ModelConfig(**fields)
    except ValueError as exc:
        raise ConfigError(f"model {spec!r}: {exc}") from exc
