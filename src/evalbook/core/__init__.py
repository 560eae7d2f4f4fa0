"""Pure domain models and identity hashing: no I/O, imports nothing else of evalbook's
(except the exception tree)."""

from evalbook.core.identity import canonical_json, content_hash, stable_uuid
from evalbook.core.messages import ImagePart, Message, TextPart, messages_text
from evalbook.core.model_config import DEFAULT_MODEL_SPEC, ModelConfig, Price, parse_model_spec
from evalbook.core.result import (
    Attempt,
    Evidence,
    FailureReason,
    Result,
    ResultStatus,
    ScoreRecord,
)
from evalbook.core.run import RunCounts, RunOptions, RunRecord, RunStatus
from evalbook.core.suite import Case, Prompt, PromptVersion, ScorerKind, ScorerSpec, Suite

__all__ = [
    "DEFAULT_MODEL_SPEC",
    "Attempt",
    "Case",
    "Evidence",
    "FailureReason",
    "ImagePart",
    "Message",
    "ModelConfig",
    "Price",
    "Prompt",
    "PromptVersion",
    "Result",
    "ResultStatus",
    "RunCounts",
    "RunOptions",
    "RunRecord",
    "RunStatus",
    "ScoreRecord",
    "ScorerKind",
    "ScorerSpec",
    "Suite",
    "TextPart",
    "canonical_json",
    "content_hash",
    "messages_text",
    "parse_model_spec",
    "stable_uuid",
]
