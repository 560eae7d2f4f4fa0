"""How a scorer spec becomes a scorer: the registry, the spec forms, negation, functions.

Every serialisable form of a spec (promptfoo's and pydantic-evals' vocabulary) parses to
one :class:`ScorerSpec`, and :func:`spec_to_dict` writes the one canonical form that is
stored with a run, so a run can be re-scored without the suite file. Built-in scorers
are entry points of ``evalbook.scorers`` exactly like third-party ones; ``@scorer`` adds
plain functions at run time, and the ``python`` type names an importable
``"module:function"`` (imported, never evaluated from text).
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any, ClassVar, overload

from pydantic import ValidationError

from evalbook.core.registry import Registry
from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.errors import ConfigError
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.builtin.extract import EXTRACT_KEY

__all__ = [
    "SCORERS",
    "FunctionScorer",
    "PythonScorer",
    "ScoreFunction",
    "build_scorer",
    "parse_scorer_spec",
    "scorer",
    "spec_to_dict",
]

SCORERS: Registry[type[Scorer]] = Registry("scorer", "evalbook.scorers")

#: What a scoring function may return: a full outcome, a verdict, or a score.
ScoreResult = ScoreOutcome | bool | float
ScoreFunction = Callable[[ScoreContext], ScoreResult | Awaitable[ScoreResult]]

#: Keys of the full form that are not scorer options.
_SPEC_KEYS = frozenset({"type", "value", "weight", "threshold", "name", "metric", "config"})
_TYPE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


# --- spec forms ---------------------------------------------------------------------


def parse_scorer_spec(raw: str | Mapping[str, Any] | ScorerSpec) -> ScorerSpec:
    """Parse any serialisable form of a scorer spec; malformed input raises ``ValueError``.

    Forms: ``"non-empty"`` / ``"not-contains"`` (a type, no value);
    ``"python:pkg.mod:fn"``; ``{"contains": "x"}`` (type → value);
    ``{"contains": {"value": "x", "case_sensitive": False}}`` (type → options);
    ``{"contains": "x", "weight": 2, "case_sensitive": False}`` (type → value, beside
    spec fields and options, as YAML list items are usually written);
    and the full ``{"type": ..., "value": ..., "weight": ..., "threshold": ...,
    "name" | "metric": ..., **options}`` (options may also sit under ``"config"``).
    """
    if isinstance(raw, ScorerSpec):
        return raw
    if isinstance(raw, str):
        return _parse_string(raw)
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"a scorer spec must be a string or a mapping, not {type(raw).__name__}: {raw!r}"
        )
    if not raw:
        raise ValueError("a scorer spec mapping is empty; give at least a type")
    if "type" in raw:
        return _parse_full(raw)
    key = _type_key(raw)
    payload = raw[key]
    rest = {k: v for k, v in raw.items() if k != key}
    if isinstance(payload, Mapping) and _is_options(key, payload):
        clash = sorted(set(payload) & set(rest))
        if clash:
            raise ValueError(f"scorer {key!r}: {clash} given twice")
        return _parse_full({"type": key, **payload, **rest})
    if "value" in rest:
        raise ValueError(f"scorer {key!r}: the value is given twice")
    return _parse_full({"type": key, "value": payload, **rest})


def spec_to_dict(spec: ScorerSpec) -> dict[str, Any]:
    """The canonical full form (JSON-safe, every field present): stored with each score
    and hashed into the scorer id; it parses back to an equal spec."""
    return spec.model_dump(mode="json")


def _parse_string(raw: str) -> ScorerSpec:
    text = raw.strip()
    if text.startswith(("python:", "not-python:")):
        type_name, _, target = text.partition(":")
        return _make_spec({"type": type_name, "value": target})
    _check_type_name(text)
    return _make_spec({"type": text})


def _parse_full(raw: Mapping[str, Any]) -> ScorerSpec:
    type_name = raw["type"]
    if not isinstance(type_name, str):
        raise ValueError(f"scorer 'type' must be a string, not {type_name!r}")
    _check_type_name(type_name)
    config = raw.get("config") or {}
    if not isinstance(config, Mapping):
        raise ValueError(f"scorer {type_name!r}: 'config' must be a mapping, not {config!r}")
    extras = {k: v for k, v in raw.items() if k not in _SPEC_KEYS}
    clash = sorted(set(extras) & set(config))
    if clash:
        raise ValueError(f"scorer {type_name!r}: option(s) {clash} given twice")
    name, metric = raw.get("name"), raw.get("metric")
    if name is not None and metric is not None and name != metric:
        raise ValueError(f"scorer {type_name!r}: 'name' {name!r} and 'metric' {metric!r} differ")
    fields: dict[str, Any] = {"type": type_name, "config": {**config, **extras}}
    for key in ("value", "weight", "threshold"):
        if key in raw:
            fields[key] = raw[key]
    if name is not None or metric is not None:
        fields["name"] = name if name is not None else metric
    return _make_spec(fields)


def _make_spec(fields: dict[str, Any]) -> ScorerSpec:
    try:
        return ScorerSpec.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"scorer {fields.get('type')!r}: {problems}") from None


def _type_key(raw: Mapping[str, Any]) -> str:
    """The key of ``{contains: x, weight: 2, case_sensitive: false}`` that names the
    scorer: the only key that is not a spec field, else the only registered name."""
    candidates = [k for k in raw if k not in _SPEC_KEYS]
    if len(candidates) > 1:
        candidates = [k for k in candidates if (k[4:] if k.startswith("not-") else k) in SCORERS]
    if len(candidates) != 1:
        raise ValueError(
            f"scorer spec {dict(raw)!r} has no 'type' and no single key naming a scorer;"
            " write {'contains': 'x'} or the full form with 'type'"
        )
    if not isinstance(candidates[0], str):
        raise ValueError(f"scorer spec {dict(raw)!r}: keys must be strings")
    _check_type_name(candidates[0])
    return candidates[0]


def _check_type_name(name: str) -> None:
    base = name[4:] if name.startswith("not-") else name
    if not _TYPE_NAME.match(base):
        raise ValueError(f"{name!r} is not a scorer type name")


def _is_options(type_name: str, payload: Mapping[str, Any]) -> bool:
    """Whether ``{type: {...}}`` holds options (``{value: x, case_sensitive: false}``) or is
    itself the value (a JSON Schema): options when it has ``value`` or only known keys."""
    if "type" in payload:
        return False  # options never repeat the type; a JSON Schema often has one
    if "value" in payload:
        return True
    base = type_name[4:] if type_name.startswith("not-") else type_name
    if base not in SCORERS:
        return True  # build_scorer will report the unknown name
    try:
        options = SCORERS.get(base).Options
    except (ConfigError, AttributeError):
        return True  # the entry point does not load; build_scorer will report it
    allowed = _SPEC_KEYS | set(options.model_fields) | {EXTRACT_KEY}
    return set(payload) <= allowed


# --- building -----------------------------------------------------------------------


def build_scorer(spec: ScorerSpec) -> Scorer:
    """Instantiate the scorer ``spec`` names; ``not-`` wraps it in a negation.

    Unknown types raise :class:`~evalbook.errors.UnknownNameError` ("did you mean");
    a bad value or options raise ``ValueError``.
    """
    cls = SCORERS.get(spec.base_type)
    if not (isinstance(cls, type) and issubclass(cls, Scorer)):
        raise ConfigError(f"scorer {spec.base_type!r} is registered as {cls!r}, not a Scorer")
    if not spec.negated:
        return cls(spec)
    inner = cls(spec.model_copy(update={"type": spec.base_type, "threshold": None}))
    return _negated_class(cls)(spec, inner)


class _Negated(Scorer):
    """``not-<type>``: score' = 1 - score; the inner verdict flips; a spec threshold
    judges the negated score."""

    def __init__(self, spec: ScorerSpec, inner: Scorer) -> None:
        self.spec = spec
        self.inner = inner
        self.options = inner.options
        self.extraction = inner.extraction

    def check_case(self, case: Case) -> None:
        self.inner.check_case(case)

    def score(self, ctx: ScoreContext) -> ScoreOutcome | Awaitable[ScoreOutcome]:
        out = self.inner.score(ctx)
        if isinstance(out, ScoreOutcome):
            return self._negate(out)
        return self._negate_later(out)

    async def _negate_later(self, pending: Awaitable[ScoreOutcome]) -> ScoreOutcome:
        return self._negate(await pending)

    def _negate(self, out: ScoreOutcome) -> ScoreOutcome:
        if out.score is None or out.parts is not None:
            raise ValueError(f"{self.spec.type!r}: only a single scored verdict can be negated")
        inner_passed = self.inner.passes(out)
        rationale = f"negated: {out.rationale}" if out.rationale else "negated"
        return ScoreOutcome(
            score=1.0 - out.score,
            passed=not inner_passed,
            label=out.label,
            rationale=rationale,
            evidence=out.evidence,
        )


@cache
def _negated_class(cls: type[Scorer]) -> type[_Negated]:
    # A subclass per inner class so that kind and direction stay class attributes.
    attrs = {
        "kind": cls.kind,
        "higher_is_better": cls.higher_is_better,
        "default_threshold": cls.default_threshold,
        "uses_expected": cls.uses_expected,
        "__doc__": f"not-{cls.__name__}",
    }
    return type(f"Not{cls.__name__}", (_Negated,), attrs)


# --- scoring functions --------------------------------------------------------------


class FunctionScorer(Scorer):
    """A plain function as a scorer: bool → 1/0 with that verdict; float → a score the
    threshold judges; :class:`ScoreOutcome` as is. Sync and async functions both work."""

    kind: ClassVar[ScorerKind] = ScorerKind.code
    func: ClassVar[ScoreFunction]
    qualname: ClassVar[str] = ""

    def score(self, ctx: ScoreContext) -> ScoreOutcome | Awaitable[ScoreOutcome]:
        return _call(type(self).func, ctx)


class PythonScorer(Scorer):
    """``{python: "pkg.module:function"}``: an importable scoring function named by a spec.

    The path is imported (never evaluated) when the scorer is built, so a wrong path
    fails the suite load rather than every result.
    """

    kind: ClassVar[ScorerKind] = ScorerKind.code
    requires_value: ClassVar[bool] = True

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self.func = _import_function(spec.value)

    def score(self, ctx: ScoreContext) -> ScoreOutcome | Awaitable[ScoreOutcome]:
        return _call(self.func, ctx)


def _import_function(target: Any) -> ScoreFunction:
    if not isinstance(target, str) or not _IMPORT_PATH.match(target):
        raise ValueError(f"scorer 'python' needs a 'module:function' path, not {target!r}")
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"scorer 'python': cannot import {target!r}: {exc}") from exc
    if not callable(obj):
        raise ValueError(f"scorer 'python': {target!r} is not callable")
    func: ScoreFunction = obj
    return func


def _call(func: ScoreFunction, ctx: ScoreContext) -> ScoreOutcome | Awaitable[ScoreOutcome]:
    result = func(ctx)
    if inspect.isawaitable(result):
        return _await_result(result)
    return _to_outcome(result)


async def _await_result(pending: Awaitable[ScoreResult]) -> ScoreOutcome:
    return _to_outcome(await pending)


def _to_outcome(result: object) -> ScoreOutcome:
    if isinstance(result, ScoreOutcome):
        return result
    if isinstance(result, bool):
        return ScoreOutcome(score=1.0 if result else 0.0, passed=result)
    if isinstance(result, int | float):
        value = float(result)
        if not math.isfinite(value):
            raise ValueError(f"scoring function returned {value}")
        return ScoreOutcome(score=value)
    raise TypeError(
        f"a scoring function must return ScoreOutcome, bool or float, not {type(result).__name__}"
    )


@overload
def scorer(func: ScoreFunction, /) -> ScoreFunction: ...


@overload
def scorer(
    *, name: str | None = None, kind: ScorerKind = ..., threshold: float = ...
) -> Callable[[ScoreFunction], ScoreFunction]: ...


def scorer(
    func: ScoreFunction | None = None,
    /,
    *,
    name: str | None = None,
    kind: ScorerKind = ScorerKind.code,
    threshold: float = 1.0,
) -> ScoreFunction | Callable[[ScoreFunction], ScoreFunction]:
    """Register a function ``(ctx) -> ScoreOutcome | bool | float`` as scorer type ``name``
    (default: the function's ``__name__``), usable in suites like any built-in.

    The function is returned unchanged so it stays directly testable. Re-running the
    definition (a notebook cell, a reloaded module) replaces the earlier registration.
    """

    def register(fn: ScoreFunction) -> ScoreFunction:
        type_name = str(name or getattr(fn, "__name__", ""))
        _check_type_name(type_name)
        if type_name.startswith("not-") or type_name in _SPEC_KEYS:
            raise ConfigError(f"{type_name!r} cannot name a scorer")
        qualname = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type_name)}"
        attrs = {
            "func": staticmethod(fn),
            "qualname": qualname,
            "kind": kind,
            "default_threshold": threshold,
            "__doc__": fn.__doc__,
        }
        cls = type(f"FunctionScorer[{type_name}]", (FunctionScorer,), attrs)
        existing = SCORERS.get(type_name) if type_name in SCORERS else None
        same = isinstance(existing, type) and getattr(existing, "qualname", None) == qualname
        SCORERS.register(type_name, cls, replace=same)
        return fn

    if func is not None:
        return register(func)
    return register
