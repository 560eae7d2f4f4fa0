"""The seeds' own request and response shapes, field names exactly as the seeds write them
(camelCase); the routes' docstrings say how each maps onto suites, prompts and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, parse_model_spec
from evalbook.errors import ConfigError
from evalbook.server.schemas.common import INT32, Strict
from evalbook.server.schemas.models import ModelConfigIn, ModelIn, model_from_request

__all__ = [
    "EvalCaseResult",
    "EvalCreate",
    "EvalMetrics",
    "EvalOut",
    "EvalSummary",
    "EvalSummaryMetrics",
    "PromptEvalRunIn",
    "PromptEvalRunOut",
    "SeedModelConfig",
    "SeedStatus",
    "SeedStatusOut",
    "seed_model",
]

#: The seeds' statuses: a canceled run did not complete, so it reads ``failed`` here.
SeedStatus = Literal["pending", "running", "completed", "failed"]


class EvalCreate(Strict):
    """Seed 004's ``POST /api/evals`` body. ``model`` is our addition: a model spec or
    config, or a tier ``tier:NAME``; default the tier the inputs' kinds name
    (``standard``), which the server's settings map to a model."""

    name: str = Field(min_length=1, max_length=300)
    templateId: str | None = Field(default=None, min_length=1, max_length=200)
    inputSet: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    model: ModelIn | None = None


class EvalCaseResult(BaseModel):
    passed: bool
    outputPreview: str
    inferenceMs: int | None


class EvalSummaryMetrics(BaseModel):
    averageInferenceMs: int | None


class EvalMetrics(EvalSummaryMetrics):
    results: list[EvalCaseResult]


class EvalSummary(BaseModel):
    """An eval run in the list (``GET /api/evals``): the row without ``inputSet`` and
    ``metrics.results``, which ``GET /api/evals/{id}`` adds."""

    id: str
    name: str
    templateId: str | None
    status: SeedStatus
    totalCases: int
    passedCases: int
    metrics: EvalSummaryMetrics
    startedAt: datetime | None
    completedAt: datetime | None
    #: Ours, not the seed's: the model tier asked for and the model it resolved to.
    tier: str | None = None
    model: str | None = None


class EvalOut(EvalSummary):
    """Seed 004's eval-run object."""

    inputSet: list[dict[str, Any]]
    metrics: EvalMetrics


class SeedModelConfig(Strict):
    """Seed 003's ``modelConfig``: ``model`` is ``provider:name`` or a bare name (then
    ``provider``, default ``openai``); the other fields are generation settings. There is
    no key field: ``apiKeyEnv`` names an environment variable of the server."""

    model: str = Field(min_length=1, max_length=500)
    provider: str | None = Field(default=None, min_length=1, max_length=100)
    temperature: float | None = Field(default=None, ge=0, le=10)
    maxTokens: int | None = Field(default=None, ge=1, le=INT32)
    topP: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = Field(default=None, ge=-INT32, le=INT32)
    stop: list[str] | None = Field(default=None, max_length=16)
    systemPrompt: str | None = Field(default=None, max_length=100_000)
    baseUrl: str | None = Field(default=None, max_length=2000)
    apiKeyEnv: str | None = Field(default=None, max_length=200)


_TestId = Annotated[str, Field(min_length=1, max_length=300)] | Annotated[int, Field(ge=0)]


class PromptEvalRunIn(Strict):
    """Seed 003's ``POST /api/prompts/{promptId}/eval/run`` body."""

    suiteId: (
        Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=0, le=INT32)]
    )
    versionNo: int = Field(ge=1, le=INT32)
    modelConfig: SeedModelConfig | None = None
    testIds: list[_TestId] | None = Field(default=None, min_length=1, max_length=100_000)


class PromptEvalRunOut(BaseModel):
    """The pending run ``POST /api/prompts/{promptId}/eval/run`` created."""

    id: str
    promptId: str
    suiteId: str
    versionNo: int
    status: SeedStatus
    testIds: list[str] | None
    createdAt: datetime


class SeedStatusOut(BaseModel):
    """Seed 003's status answer, exactly ``{status}``."""

    status: SeedStatus


def seed_model(raw: SeedModelConfig | None) -> ModelConfig:
    """Seed 003's ``modelConfig`` as a model config (checked against the policy); none
    given: the embedded local model, as on the CLI."""
    if raw is None:
        return model_from_request(DEFAULT_MODEL_SPEC, "modelConfig")
    if ":" in raw.model:
        base = parse_model_spec(raw.model)
        fields: dict[str, Any] = base.model_dump(include={"provider", "name", "base_url"})
        if raw.provider is not None and raw.provider != base.provider:
            raise ConfigError(
                f"modelConfig: model {raw.model!r} names provider {base.provider!r}, but"
                f" provider says {raw.provider!r}"
            )
    else:
        fields = {"provider": raw.provider or "openai", "name": raw.model}
    renamed = {
        "temperature": raw.temperature,
        "max_tokens": raw.maxTokens,
        "seed": raw.seed,
        "stop": raw.stop,
        "system_prompt": raw.systemPrompt,
        "base_url": raw.baseUrl,
        "api_key_env": raw.apiKeyEnv,
    }
    fields.update({k: v for k, v in renamed.items() if v is not None})
    if raw.topP is not None:
        fields["params"] = {"top_p": raw.topP}
    return model_from_request(ModelConfigIn.model_validate(fields, strict=False), "modelConfig")
