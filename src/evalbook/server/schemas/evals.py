"""The request and response shapes of the eval endpoints (``/api/evals``,
``/api/prompts/{promptId}/eval``), field names in camelCase as those endpoints publish
them; the routes' docstrings say how each maps onto suites, prompts and runs. What the
API documents (these docstrings) speaks of evals, prompts, suites and runs only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, parse_model_spec
from evalbook.core.run import RunStatus
from evalbook.errors import ConfigError
from evalbook.server.schemas.common import INT32, Strict
from evalbook.server.schemas.models import ModelConfigIn, ModelIn, model_from_request

__all__ = [
    "EvalCaseResult",
    "EvalCreate",
    "EvalMetrics",
    "EvalOut",
    "EvalStatus",
    "EvalSummary",
    "EvalSummaryMetrics",
    "PromptEvalModelConfig",
    "PromptEvalRunIn",
    "PromptEvalRunOut",
    "PromptEvalStatusOut",
    "eval_status",
    "prompt_eval_model",
]

#: An eval's status: a canceled run did not complete, so it reads ``failed`` here.
EvalStatus = Literal["pending", "running", "completed", "failed"]


def eval_status(status: RunStatus) -> EvalStatus:
    """A run's status as an eval reads it."""
    return "failed" if status is RunStatus.canceled else status.value  # type: ignore[return-value]


class EvalCreate(Strict):
    """The ``POST /api/evals`` body: a named set of inputs (``inputSet``) to run, each a
    case's variables (an input's ``_kind`` names a generation kind). ``model`` is a model
    spec or config, or a tier ``tier:NAME``; by default the tier the inputs' kinds name
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
    status: EvalStatus
    totalCases: int
    passedCases: int
    metrics: EvalSummaryMetrics
    startedAt: datetime | None
    completedAt: datetime | None
    #: The model tier asked for and the model it resolved to.
    tier: str | None = None
    model: str | None = None


class EvalOut(EvalSummary):
    """An eval run: its inputs, status, counts and each case's result."""

    inputSet: list[dict[str, Any]]
    metrics: EvalMetrics


class PromptEvalModelConfig(Strict):
    """The model of a prompt eval: ``model`` is ``provider:name`` or a bare name (then
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
    """The ``POST /api/prompts/{promptId}/eval/run`` body: the suite, the prompt version,
    the model (default: the embedded local model) and optionally the cases to run."""

    suiteId: (
        Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=0, le=INT32)]
    )
    versionNo: int = Field(ge=1, le=INT32)
    modelConfig: PromptEvalModelConfig | None = None
    testIds: list[_TestId] | None = Field(default=None, min_length=1, max_length=100_000)


class PromptEvalRunOut(BaseModel):
    """The pending run ``POST /api/prompts/{promptId}/eval/run`` created."""

    id: str
    promptId: str
    suiteId: str
    versionNo: int
    status: EvalStatus
    testIds: list[str] | None
    createdAt: datetime


class PromptEvalStatusOut(BaseModel):
    """A prompt eval run's status, exactly ``{status}``."""

    status: EvalStatus


def prompt_eval_model(raw: PromptEvalModelConfig | None) -> ModelConfig:
    """A prompt eval's ``modelConfig`` as a model config (checked against the policy); none
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
