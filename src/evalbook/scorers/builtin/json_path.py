"""A small, predictable subset of JSONPath: one path selects at most one value.

Supported: the root ``$``, member access ``.name`` (letters, digits, ``_`` and ``-``,
not starting with a digit or ``-``), quoted member access ``['any key']`` / ``["any key"]``
(for keys with spaces, dots or brackets) and array indexes ``[0]`` / ``[-1]`` (from the
end). Examples: ``$``, ``$.answer``, ``$.a.b[0].c``, ``$["first name"]``, ``$.items[-1]``.

Not supported, and rejected when the path is compiled: wildcards (``*``), recursive
descent (``..``), slices (``[0:2]``), unions (``[0,1]``) and filters (``[?(...)]``). Each
of them can select several values, and a scorer compares one value with one reference;
rejecting them at suite load beats guessing which of several matches was meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPath", "compile_json_path"]

_MEMBER = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_ESCAPE = re.compile(r"\\(.)")
_MISSING = object()


@dataclass(frozen=True)
class JsonPath:
    """A compiled path: ``steps`` are member names (``str``) and indexes (``int``)."""

    text: str
    steps: tuple[str | int, ...]

    def find(self, document: Any) -> tuple[bool, Any]:
        """``(True, value)`` when the path selects a value in ``document``, else
        ``(False, reason)``: a missing key, an index out of range, or a step into a
        scalar. A key never matches an array, nor an index an object."""
        node = document
        for depth, step in enumerate(self.steps):
            where = self._prefix(depth)
            if isinstance(step, int):
                if not isinstance(node, list):
                    return False, f"{where} is {_kind(node)}, not an array"
                if not -len(node) <= step < len(node):
                    return False, f"{where} has {len(node)} item(s), no index {step}"
                node = node[step]
            else:
                if not isinstance(node, dict):
                    return False, f"{where} is {_kind(node)}, not an object"
                found = node.get(step, _MISSING)
                if found is _MISSING:
                    return False, f"{where} has no key {step!r}"
                node = found
        return True, node

    def _prefix(self, depth: int) -> str:
        out = "$"
        for step in self.steps[:depth]:
            out += f"[{step}]" if isinstance(step, int) else f".{step}"
        return out


def compile_json_path(path: object) -> JsonPath:
    """Parse ``path``; ``ValueError`` naming the path and the offending position."""
    if not isinstance(path, str):
        raise ValueError(f"a JSON path must be a string like '$.a.b[0]', not {path!r}")
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with '$' (e.g. '$.a.b[0]')")
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        for pattern in (_MEMBER, _INDEX, _QUOTED):
            match = pattern.match(text, pos)
            if match is not None:
                break
        else:
            raise ValueError(_unsupported(path, text, pos))
        if pattern is _INDEX:
            steps.append(int(match.group(1)))
        elif pattern is _MEMBER:
            steps.append(match.group(1))
        else:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            steps.append(_ESCAPE.sub(r"\1", raw))
        pos = match.end()
    return JsonPath(text, tuple(steps))


def _unsupported(path: str, text: str, pos: int) -> str:
    rest = text[pos:]
    if rest.startswith(".."):
        what = "recursive descent '..'"
    elif rest.startswith((".*", "[*")):
        what = "wildcards"
    elif rest.startswith("[?"):
        what = "filters"
    elif re.match(r"\[\s*-?\d*\s*:", rest):
        what = "slices"
    elif re.match(r"\[[^\]]*,", rest):
        what = "unions"
    else:
        what = f"this syntax ({rest[:12]!r})"
    return (
        f"JSON path {path!r}: {what} not supported at position {pos}; the subset is"
        " $, .name, ['key'] and [index]"
    )


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return "an array"
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "a boolean"
    return "a string" if isinstance(node, str) else "a number"
