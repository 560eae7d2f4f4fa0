"""Text checks on the output: equals, contains, icontains, regex, starts-with.

They run on every result of large runs, so whatever can be prepared from a static value
(case-folded needles, the compiled pattern) is prepared once in ``__init__``; a templated
value (``{{ expected }}``) is prepared per call from the rendered ``ctx.value``.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from evalbook.core.identity import canonical_json
from evalbook.core.suite import ScorerKind, ScorerSpec
from evalbook.core.templating import is_template
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer, value_has_template
from evalbook.scorers.builtin.reference import TextReferenceScorer

__all__ = ["Contains", "Equals", "IContains", "Regex", "StartsWith"]

_PREVIEW = 60


def _preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…")


def _listing(texts: list[str] | tuple[str, ...]) -> str:
    return ", ".join(_preview(t) for t in texts)


class EqualsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_sensitive: bool = True
    strip: bool = True


class Equals(Scorer):
    """The output equals the value (default: the case's ``expected``).

    A structured ``expected`` (number, list, mapping) is compared as canonical JSON, so
    ``{"a": 1, "b": 2}`` equals an output of ``{ "b": 2, "a": 1 }``.
    """

    kind: ClassVar[ScorerKind] = ScorerKind.reference_based
    uses_expected: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = EqualsOptions
    options: EqualsOptions

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        reference = self.reference(ctx)
        if reference is None:
            raise ValueError(f"scorer {self.spec.metric_name!r} has no value and no expected")
        output = ctx.output or ""
        if isinstance(reference, str):
            want, got = reference, output
        else:
            want, got = canonical_json(reference), _canonical_output(output)
        if self.options.strip:
            want, got = want.strip(), got.strip()
        if not self.options.case_sensitive:
            want, got = want.casefold(), got.casefold()
        if want == got:
            return _EQUAL
        return ScoreOutcome(
            score=0.0,
            passed=False,
            rationale=f"expected {_preview(want)}, got {_preview(got)}",
        )


#: Equals' verdict when they are equal, one outcome for every result (it is frozen).
_EQUAL = ScoreOutcome(score=1.0, passed=True, rationale="output equals the reference")


def _canonical_output(output: str) -> str:
    try:
        return canonical_json(json.loads(output))
    except ValueError:
        return output


class ContainsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_sensitive: bool = True
    mode: Literal["any", "all"] = "all"


class Contains(Scorer):
    """The output contains the value (a string, or a list with ``mode`` any/all).

    Binary: 1 when the condition holds. With no value it looks for the case's
    ``expected``. Case-insensitive matching uses Unicode case folding (``ß`` ~ ``SS``).
    """

    requires_value: ClassVar[bool] = True
    uses_expected: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = ContainsOptions
    options: ContainsOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._static: tuple[str, ...] | None = None
        #: A static needle's two verdicts, missing and found, made once (a frozen
        #: outcome is shared by every result that gets it).
        self._verdicts: tuple[ScoreOutcome, ScoreOutcome] | None = None
        if spec.value is not None and not value_has_template(spec.value):
            self._static = self._needles(spec.value)
            if len(self._static) == 1:
                self._verdicts = (
                    _one_needle(self._static[0], False),
                    _one_needle(self._static[0], True),
                )

    def _needles(self, value: Any) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError(f"scorer {self.spec.type!r} has an empty list of values")
        needles: list[str] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValueError(
                    f"scorer {self.spec.type!r} needs a string or a list of strings, not {item!r}"
                )
            needle = str(item)
            needles.append(needle if self.options.case_sensitive else needle.casefold())
        return tuple(needles)

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        output = ctx.output or ""
        haystack = output if self.options.case_sensitive else output.casefold()
        if ctx.value is not None and ctx.value is self.spec.value and self._static is not None:
            needles = self._static
            if self._verdicts is not None:
                return self._verdicts[needles[0] in haystack]
        else:
            reference = self.reference(ctx)
            if reference is None:
                raise ValueError(f"scorer {self.spec.metric_name!r} has no value and no expected")
            needles = self._needles(reference)
        if len(needles) == 1:  # the usual spec: one needle, its verdict said directly
            return _one_needle(needles[0], needles[0] in haystack)
        found = [n for n in needles if n in haystack]
        if self.options.mode == "all":
            ok = len(found) == len(needles)
            missing = [n for n in needles if n not in haystack]
            why = f"found {_listing(found)}" if ok else f"missing {_listing(missing)}"
        else:
            ok = bool(found)
            why = f"found {_listing(found)}" if ok else f"found none of {_listing(needles)}"
        return ScoreOutcome(score=1.0 if ok else 0.0, passed=ok, rationale=why)


def _one_needle(needle: str, found: bool) -> ScoreOutcome:
    why = f"{'found' if found else 'missing'} {_preview(needle)}"
    return ScoreOutcome(score=1.0 if found else 0.0, passed=found, rationale=why)


class IContainsOptions(ContainsOptions):
    case_sensitive: bool = False


class IContains(Contains):
    """``contains`` ignoring case (Unicode case folding)."""

    Options: ClassVar[type[BaseModel]] = IContainsOptions


class RegexOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ignore_case: bool = False
    multiline: bool = False
    fullmatch: bool = False


class Regex(Scorer):
    """The output matches the pattern (``re.search``; ``fullmatch`` for the whole output).

    A static pattern is compiled once, so a bad pattern fails the suite load.
    """

    requires_value: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = RegexOptions
    options: RegexOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._flags = (re.IGNORECASE if self.options.ignore_case else 0) | (
            re.MULTILINE if self.options.multiline else 0
        )
        self._static: re.Pattern[str] | None = None
        if not isinstance(spec.value, str):
            raise ValueError(f"scorer {spec.type!r} needs a pattern string, not {spec.value!r}")
        if not is_template(spec.value):
            self._static = self._compile(spec.value)

    def _compile(self, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, self._flags)
        except re.error as exc:
            raise ValueError(
                f"scorer {self.spec.type!r}: invalid regular expression {pattern!r}: {exc}"
            ) from None

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        if self._static is not None and ctx.value is self.spec.value:
            pattern = self._static
        elif isinstance(ctx.value, str):
            pattern = self._compile(ctx.value)  # the re module caches compiled patterns
        else:
            raise ValueError(f"scorer {self.spec.metric_name!r} needs a pattern string")
        output = ctx.output or ""
        match = pattern.fullmatch(output) if self.options.fullmatch else pattern.search(output)
        if match is None:
            return ScoreOutcome(
                score=0.0, passed=False, rationale=f"no match for /{pattern.pattern}/"
            )
        return ScoreOutcome(
            score=1.0,
            passed=True,
            rationale=f"matched {_preview(match.group(0))} at {match.start()}",
        )


class StartsWithOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_sensitive: bool = True
    #: Ignore whitespace before the output's first character (models often emit some).
    strip: bool = True


class StartsWith(TextReferenceScorer):
    """The output starts with the value (default: ``expected``), or with any item of a
    list: for formats that must lead with a verdict (``YES``/``NO``) or a fixed header.
    Case-insensitive matching (``case_sensitive: false``) uses Unicode case folding."""

    kind: ClassVar[ScorerKind] = ScorerKind.heuristic
    requires_value: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = StartsWithOptions
    options: StartsWithOptions

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        prefixes = self.references(ctx)
        output = ctx.output or ""
        if self.options.strip:
            output = output.lstrip()
        if not self.options.case_sensitive:
            output = output.casefold()
            prefixes = tuple(p.casefold() for p in prefixes)
        for prefix in prefixes:
            if output.startswith(prefix):
                return ScoreOutcome(
                    score=1.0, passed=True, rationale=f"starts with {_preview(prefix)}"
                )
        return ScoreOutcome(
            score=0.0,
            passed=False,
            rationale=f"starts with {_preview(output[:20])}, not {_listing(prefixes)}",
        )
