"""Structured-output checks: the output is JSON, and it satisfies a JSON Schema.

Models often wrap JSON in a Markdown fence (```` ```json ... ``` ````); both checks look
inside the first fenced block when there is one, since that is what a caller would parse.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from evalbook.core.suite import ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["IsJson", "JsonSchema", "parse_json_output"]

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)
_MAX_ERRORS = 3


def parse_json_output(output: str | None) -> tuple[Any, str | None]:
    """``(value, None)`` when ``output`` (or its first fenced block) is JSON, else
    ``(None, reason)``."""
    text = (output or "").strip()
    if not text:
        return None, "output is empty"
    fence = _FENCE.search(text)
    if fence is not None:
        text = fence.group(1).strip()
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


class IsJson(Scorer):
    """The output parses as JSON (inside a ```` ```json ```` fence if present)."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        _, error = parse_json_output(ctx.output)
        if error is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=error, evidence={"error": error})
        return ScoreOutcome(score=1.0, passed=True, rationale="output is valid JSON")


class JsonSchema(Scorer):
    """The output is JSON valid against the value, a JSON Schema (draft 2020-12).

    The schema is checked when the scorer is built, so a broken schema fails the suite
    load; the rationale lists the first violations with their JSON paths.
    """

    requires_value: ClassVar[bool] = True

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        schema = spec.value
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except json.JSONDecodeError as exc:
                raise ValueError(f"scorer {spec.type!r}: the schema is not JSON: {exc}") from None
        if not isinstance(schema, dict | bool):
            raise ValueError(f"scorer {spec.type!r} needs a JSON Schema object, not {schema!r}")
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = exc.json_path if exc.path else "$"
            raise ValueError(
                f"scorer {spec.type!r}: invalid JSON Schema at {where}: {exc.message}"
            ) from None
        self._validator = Draft202012Validator(schema)

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        instance, error = parse_json_output(ctx.output)
        if error is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=error, evidence={"error": error})
        errors = sorted(self._validator.iter_errors(instance), key=lambda e: e.json_path)
        if not errors:
            return ScoreOutcome(score=1.0, passed=True, rationale="output matches the schema")
        shown = "; ".join(f"{e.json_path}: {e.message}" for e in errors[:_MAX_ERRORS])
        more = f" (+{len(errors) - _MAX_ERRORS} more)" if len(errors) > _MAX_ERRORS else ""
        return ScoreOutcome(
            score=0.0,
            passed=False,
            rationale=f"{len(errors)} schema violation(s): {shown}{more}",
            evidence={"errors": [{"path": e.json_path, "message": e.message} for e in errors]},
        )
