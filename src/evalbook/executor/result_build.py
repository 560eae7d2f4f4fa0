"""A case's :class:`Result` built from values the executor made itself.

Why not ``Result(**fields)``: validating a result the executor has just assembled (its
messages, its score records, the case's own fields) re-checks what is already typed, and
was the largest single cost of a cached result. Only what came from outside is checked,
and cheaply: a provider's answer (``GenerateResponse`` may come from a user's provider)
must hold values of its declared types, or the result is validated as before.
"""

from __future__ import annotations

from typing import Any

from evalbook.core.result import (
    Attempt,
    FailureReason,
    ProviderEvidence,
    Result,
    ResultStatus,
    ScoreRecord,
)
from evalbook.core.trusted import built
from evalbook.providers.base import GenerateResponse
from evalbook.scorers.case_verdict import CaseVerdict
from evalbook.scorers.scorer_set import ScorerSet

__all__ = ["answered_result", "error_result", "result_of"]

_ORDER = tuple(Result.model_fields)
_FIELDS = frozenset(_ORDER)


def _opt(value: Any, kind: type) -> bool:
    return value is None or type(value) is kind


def _trusted(fields: dict[str, Any]) -> bool:
    """Whether the values a provider gave are of the types the record declares."""
    return (
        type(fields["output"]) is str
        and _opt(fields["output_structured"], dict)
        and _opt(fields["input_tokens"], int)
        and _opt(fields["output_tokens"], int)
        and _opt(fields["served_model"], str)
        and _opt(fields["system_fingerprint"], str)
        and (fields["cost_usd"] is None or type(fields["cost_usd"]) in (float, int))
        and (fields["latency_ms"] is None or type(fields["latency_ms"]) is float)
        and (
            fields["provider_evidence"] is None
            or isinstance(fields["provider_evidence"], ProviderEvidence)
        )
    )


def result_of(fields: dict[str, Any]) -> Result:
    """The result holding ``fields`` (every field of :class:`Result`)."""
    in_order = tuple(fields) == _ORDER
    if (in_order or fields.keys() == _FIELDS) and _trusted(fields):
        if type(fields["cost_usd"]) is int:
            fields["cost_usd"] = float(fields["cost_usd"])
        # Containers shared with the case are copied, as validation would.
        fields["input"] = dict(fields["input"])
        fields["tags"] = list(fields["tags"])
        if fields["choices"] is not None:
            fields["choices"] = list(fields["choices"])
        # In the declared order, as validation leaves them (it is the order of a dump);
        # the executor writes them in that order already.
        return built(Result, fields if in_order else {k: fields[k] for k in _ORDER})
    return Result(**fields)


def answered_result(
    base: dict[str, Any],
    *,
    verdict: CaseVerdict,
    response: GenerateResponse,
    records: list[ScoreRecord],
    score: float | None,
    latency_ms: float | None,
    cost: float | None,
    cached: bool,
    attempts: list[Attempt],
) -> Result:
    """The result of a case the model answered: the executor's ``base`` fields (identity,
    case, messages, prompt, cache key, time) with the answer and its scores."""
    # In the order of Result's fields: result_of then keeps the dict as it is.
    return result_of(
        {
            "id": base["id"],
            "run_id": base["run_id"],
            "case_id": base["case_id"],
            "epoch": base["epoch"],
            "status": verdict.status,
            "failure_reason": verdict.failure_reason,
            "input": base["input"],
            "messages": base["messages"],
            "prompt": base["prompt"],
            "output": response.text,
            "output_structured": response.structured,
            "expected": base["expected"],
            "choices": base["choices"],
            "section": base["section"],
            "tags": base["tags"],
            "scores": records,
            "score": score,
            "latency_ms": latency_ms,
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "cost_usd": cost,
            "cached": cached,
            "served_model": response.served_model,
            "system_fingerprint": response.system_fingerprint,
            "cache_key": base["cache_key"],
            "error_type": verdict.error_type,
            "error_message": verdict.error_message,
            "attempts": attempts,
            "provider_evidence": response.evidence,
            "created_at": base["created_at"],
        }
    )


def error_result(
    base: dict[str, Any],
    error_type: str,
    message: str,
    attempts: list[Attempt],
    scorers: ScorerSet,
) -> Result:
    """An errored case's result: no answer, every scorer recorded as not scored."""
    return Result(
        **base,
        status=ResultStatus.error,
        failure_reason=FailureReason.error,
        error_type=error_type,
        error_message=message[:4000],
        attempts=attempts,
        scores=scorers.not_scored(f"case errored before scoring: {error_type}"),
    )
