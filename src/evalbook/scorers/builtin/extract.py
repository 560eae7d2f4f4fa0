"""Extractors: pull the answer out of the output before a scorer judges it.

lm-evaluation-harness's "filter before metric": a model that writes a paragraph and then
``Answer: Paris`` should be judged on ``Paris``. Any scorer spec may carry
``extract:``, one extractor or a list applied in order::

    {equals: Paris, extract: [{regex: "Answer: (.*)"}, strip]}

Extractors: ``{regex: PATTERN}`` (``re.search``; the named group ``answer``, else group 1,
else the whole match; inline flags such as ``(?i)`` set options), ``first-line`` /
``last-line`` (the first / last non-blank line), ``strip`` (surrounding whitespace),
``lower`` / ``upper`` (the text lower- / upper-cased: promptfoo's ``output.toLowerCase()``),
``{json-path: "$.a.b"}`` (parse the output as JSON and select a value; strings as they
are, other values as compact JSON), ``first-number`` / ``last-number`` (as the
``numeric`` scorer finds numbers, written plainly: ``1,234.0`` → ``1234``).

The pipeline is parsed when the scorer is built, so a bad pattern or path fails the
suite load. It is applied by the scorer set (``apply.py``), which records the extracted
text with the score; an extractor that finds nothing makes the score 0 with that reason,
since "the model gave no answer in the expected shape" is a verdict, not a broken scorer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evalbook.scorers.builtin.json_path import compile_json_path
from evalbook.scorers.builtin.number_parsing import find_numbers, format_number
from evalbook.scorers.output_text import parse_json_output

__all__ = ["EXTRACT_KEY", "Extraction", "parse_extraction"]

#: The spec option (in ``ScorerSpec.config``) that holds the pipeline.
EXTRACT_KEY = "extract"

#: ``text -> (result, None)`` or ``(None, why nothing was found)``.
_Func = Callable[[str], tuple[str | None, str | None]]


@dataclass(frozen=True)
class _Step:
    label: str
    func: _Func


@dataclass(frozen=True)
class Extraction:
    """A parsed ``extract:`` pipeline."""

    steps: tuple[_Step, ...]

    @property
    def label(self) -> str:
        return " → ".join(step.label for step in self.steps)

    def apply(self, text: str) -> tuple[str | None, str | None]:
        """``(extracted, None)``, or ``(None, reason)`` naming the step that found nothing."""
        for step in self.steps:
            result, why = step.func(text)
            if result is None:
                return None, f"extract {step.label}: {why}"
            text = result
        return text, None


def parse_extraction(raw: Any, scorer: str) -> Extraction | None:
    """The pipeline of an ``extract:`` option (``None`` when absent); ``ValueError``
    naming the scorer and the bad extractor otherwise."""
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ValueError(f"scorer {scorer!r}: 'extract' is an empty list")
    try:
        return Extraction(tuple(_parse_step(item) for item in items))
    except ValueError as exc:
        raise ValueError(f"scorer {scorer!r}: extract: {exc}") from None


def _parse_step(item: Any) -> _Step:
    if isinstance(item, str):
        name, arg, has_arg = item, None, False
    elif isinstance(item, Mapping) and len(item) == 1:
        ((name, arg),) = item.items()
        has_arg = True
    else:
        raise ValueError(f"{item!r} is not an extractor; write a name or {{name: argument}}")
    if name in _SIMPLE:
        if has_arg and arg is not None:
            raise ValueError(f"extractor {name!r} takes no argument")
        return _Step(name, _SIMPLE[name])
    if name == "regex":
        if not has_arg:
            raise ValueError("extractor 'regex' needs a pattern: {regex: 'Answer: (.*)'}")
        return _regex(arg)
    if name == "json-path":
        if not has_arg:
            raise ValueError("extractor 'json-path' needs a path: {json-path: '$.answer'}")
        return _json_path(arg)
    known = ", ".join(sorted([*_SIMPLE, "regex", "json-path"]))
    hint = " (numeric's own choice of number is its option 'pick')" if name in _PICKS else ""
    raise ValueError(f"unknown extractor {name!r}{hint}; known: {known}")


def _regex(pattern: Any) -> _Step:
    if not isinstance(pattern, str):
        raise ValueError(f"extractor 'regex' needs a pattern string, not {pattern!r}")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    group: int | str = (
        "answer" if "answer" in compiled.groupindex else (1 if compiled.groups else 0)
    )

    def find(text: str) -> tuple[str | None, str | None]:
        match = compiled.search(text)
        if match is None:
            return None, "no match"
        found = match.group(group)
        if found is None:
            return None, f"group {group!r} took no part in the match"
        return found, None

    return _Step(f"regex /{pattern}/", find)


def _json_path(path: Any) -> _Step:
    compiled = compile_json_path(path)

    def select(text: str) -> tuple[str | None, str | None]:
        document, error = parse_json_output(text)
        if error is not None:
            return None, error
        found, value = compiled.find(document)
        if not found:
            return None, str(value)
        if isinstance(value, str):
            return value, None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")), None

    return _Step(f"json-path {compiled.text}", select)


def _first_line(text: str) -> tuple[str | None, str | None]:
    for line in text.splitlines():
        if line.strip():
            return line, None
    return None, "no non-blank line"


def _last_line(text: str) -> tuple[str | None, str | None]:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line, None
    return None, "no non-blank line"


def _strip(text: str) -> tuple[str | None, str | None]:
    return text.strip(), None


def _lower(text: str) -> tuple[str | None, str | None]:
    return text.lower(), None


def _upper(text: str) -> tuple[str | None, str | None]:
    return text.upper(), None


def _first_number(text: str) -> tuple[str | None, str | None]:
    numbers = find_numbers(text)
    return (format_number(numbers[0]), None) if numbers else (None, "no number")


def _last_number(text: str) -> tuple[str | None, str | None]:
    numbers = find_numbers(text)
    return (format_number(numbers[-1]), None) if numbers else (None, "no number")


_SIMPLE: dict[str, _Func] = {
    "first-line": _first_line,
    "last-line": _last_line,
    "strip": _strip,
    "lower": _lower,
    "upper": _upper,
    "first-number": _first_number,
    "last-number": _last_number,
}
_PICKS = frozenset({"first", "last", "only", "any"})
