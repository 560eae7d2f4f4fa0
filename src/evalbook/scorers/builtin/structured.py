"""Structured-output checks: the output is JSON, satisfies a JSON Schema, contains JSON,
has a value at a JSON path.

Models often wrap JSON in a Markdown fence (```` ```json ... ``` ````); the checks that
parse the whole output look inside the first fenced block when there is one, since that
is what a caller would parse. ``contains-json`` instead finds JSON anywhere in prose.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict

from evalbook.core.identity import canonical_json
from evalbook.core.suite import ScorerKind, ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.builtin.json_path import compile_json_path
from evalbook.scorers.output_text import find_json, parse_json_output

__all__ = ["ContainsJson", "IsJson", "JsonPath", "JsonSchema", "parse_json_output"]

_MAX_ERRORS = 3


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


class ContainsJsonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: What counts: an object, an array, or either.
    container: Literal["any", "object", "array"] = "any"


_CONTAINERS: dict[str, tuple[type, ...]] = {
    "any": (dict, list),
    "object": (dict,),
    "array": (list,),
}


class ContainsJson(Scorer):
    """A JSON object or array appears somewhere in the output (``Here you go: {...}``).

    The first ``{`` or ``[`` that starts valid JSON wins; scalars do not count, and
    ``container: object`` ignores arrays (a citation such as ``[1]`` is a JSON array).
    """

    takes_value: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = ContainsJsonOptions
    options: ContainsJsonOptions

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        _, start, end = find_json(ctx.output or "", _CONTAINERS[self.options.container])
        if start < 0:
            what = "JSON" if self.options.container == "any" else f"JSON {self.options.container}"
            return ScoreOutcome(score=0.0, passed=False, rationale=f"no {what} in the output")
        return ScoreOutcome(score=1.0, passed=True, rationale=f"JSON at characters {start}-{end}")


class JsonPathOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A path in the subset of ``json_path.py``: ``$.a.b[0].c``.
    path: str


class JsonPath(Scorer):
    """The output is JSON, and the value at ``path`` equals the value (default: the
    case's ``expected``): ``{json-path: {path: "$.answer.city", value: Paris}}``.

    Values compare as JSON (``1`` equals ``1.0``; objects ignore key order). A string
    reference, as a template renders, also matches a non-string value that it spells as
    JSON (``"42"`` matches ``42``, ``"true"`` matches ``true``; write ``"null"`` to expect
    null, since a null value means "no value").
    """

    kind: ClassVar[ScorerKind] = ScorerKind.reference_based
    uses_expected: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = JsonPathOptions
    options: JsonPathOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        try:
            self._path = compile_json_path(self.options.path)
        except ValueError as exc:
            raise ValueError(f"scorer {spec.type!r}: {exc}") from None

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        want = self.reference(ctx)
        if want is None:
            raise ValueError(f"scorer {self.spec.metric_name!r} has no value and no expected")
        document, error = parse_json_output(ctx.output)
        if error is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=error)
        found, got = self._path.find(document)
        if not found:
            return ScoreOutcome(score=0.0, passed=False, rationale=f"{self._path.text}: {got}")
        ok = _json_equal(got, want)
        shown = _short(canonical_json(got))
        if ok:
            return ScoreOutcome(
                score=1.0, passed=True, label=shown, rationale=f"{self._path.text} is {shown}"
            )
        return ScoreOutcome(
            score=0.0,
            passed=False,
            label=shown,
            rationale=f"{self._path.text} is {shown}, expected {_short(canonical_json(want))}",
        )


def _json_equal(got: Any, want: Any, spelled: bool = True) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), booleans only equal booleans,
    objects by keys; a string ``want`` may spell a non-string ``got`` as JSON."""
    if isinstance(got, bool) or isinstance(want, bool):
        if isinstance(got, bool) and isinstance(want, bool):
            return got is want
    elif isinstance(got, int | float) and isinstance(want, int | float):
        return got == want
    elif isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_json_equal(got[k], want[k], False) for k in got)
    elif isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(
            _json_equal(g, w, False) for g, w in zip(got, want, strict=True)
        )
    elif type(got) is type(want):
        return bool(got == want)
    if spelled and isinstance(want, str) and not isinstance(got, str):
        try:
            return _json_equal(got, json.loads(want), False)
        except ValueError:
            return False
    return False


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
