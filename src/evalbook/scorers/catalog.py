"""What the scorer registry holds, described for people: ``evalbook scorers list``.

One entry per registered name (built-ins and plugins alike): its kind (the interchange
record's scorer type), whether it takes a value or reads the case's ``expected``, its
options with their types and defaults, and the first paragraph of its docstring.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined

from evalbook.errors import ConfigError
from evalbook.scorers.registry import SCORERS

__all__ = ["ScorerInfo", "ScorerOption", "describe_scorers", "summary_of", "type_label"]


@dataclass(frozen=True)
class ScorerOption:
    name: str
    type: str
    required: bool
    default: Any = None


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    kind: str | None
    summary: str
    takes_value: bool
    requires_value: bool
    uses_expected: bool
    options: tuple[ScorerOption, ...]
    #: Why the scorer could not be loaded (a missing optional dependency); else ``None``.
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "takes_value": self.takes_value,
            "requires_value": self.requires_value,
            "uses_expected": self.uses_expected,
            "options": [
                {"name": o.name, "type": o.type, "required": o.required, "default": o.default}
                for o in self.options
            ],
            "problem": self.problem,
        }


def summary_of(obj: object) -> str:
    """The first paragraph of ``obj``'s docstring, on one line."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def type_label(annotation: Any) -> str:
    """A short, readable type: ``bool``, ``int | None``, ``'any'|'all'``, ``list[str]``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_label(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _options(cls: Any) -> tuple[ScorerOption, ...]:
    found = []
    for name, info in cls.Options.model_fields.items():
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        if default is PydanticUndefined:
            default = None
        found.append(ScorerOption(name, type_label(info.annotation), required, _json_safe(default)))
    return tuple(found)


def describe_scorers() -> list[ScorerInfo]:
    """Every registered scorer, sorted by name; one that cannot load says why."""
    described = []
    for name in SCORERS.names():
        try:
            cls: Any = SCORERS.get(name)
        except ConfigError as exc:
            described.append(ScorerInfo(name, None, "", False, False, False, (), str(exc)))
            continue
        described.append(
            ScorerInfo(
                name=name,
                kind=str(cls.kind),
                summary=summary_of(cls),
                takes_value=bool(cls.takes_value),
                requires_value=bool(cls.requires_value),
                uses_expected=bool(cls.uses_expected),
                options=_options(cls),
            )
        )
    return described
