"""A case's :class:`Result` built from values the executor made itself.

Why not ``Result(**fields)``: validating a result the executor has just assembled (its
messages, its score records, the case's own fields) re-checks what is already typed, and
was the largest single cost of a cached result. Only what came from outside is checked,
and cheaply: a provider's answer (``GenerateResponse`` may come from a user's provider)
must hold values of its declared types, or the result is validated as before.
"""

from __future__ import annotations

from typing import Any

from evalbook.core.result import ProviderEvidence, Result
from evalbook.core.trusted import built

__all__ = ["result_of"]

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
    if fields.keys() == _FIELDS and _trusted(fields):
        if type(fields["cost_usd"]) is int:
            fields["cost_usd"] = float(fields["cost_usd"])
        # Containers shared with the case are copied, as validation would.
        fields["input"] = dict(fields["input"])
        fields["tags"] = list(fields["tags"])
        if fields["choices"] is not None:
            fields["choices"] = list(fields["choices"])
        # In the declared order, as validation leaves them (it is the order of a dump).
        return built(Result, {k: fields[k] for k in _ORDER})
    return Result(**fields)
