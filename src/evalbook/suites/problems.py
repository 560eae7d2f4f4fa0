"""Collect every problem of a suite, each with its ``file:line``, and raise them at once.

A user fixing a suite file wants the whole list, not one error per attempt, so the loader
records problems as it goes and raises one :class:`~evalbook.errors.SuiteError` at the
end. Pydantic errors are translated here: their ``loc`` is walked through the YAML tree to
the nearest line, and shown as a field path (``cases[3].expcted``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from evalbook.errors import SuiteError
from evalbook.suites.yaml_lines import line_at

__all__ = ["Problems", "Where", "format_path", "not_unicode"]

Path = tuple[str | int, ...]

#: How many problems one error message lists before "... and N more".
MAX_LISTED = 50


def format_path(path: Sequence[str | int]) -> str:
    """``("cases", 3, "expcted")`` → ``cases[3].expcted``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


@dataclass(frozen=True)
class Where:
    """A position in a source: the file, the parsed tree (for lines), the path to it.

    ``line`` is the fallback when the tree has no line information (JSONL and CSV rows,
    dicts given to the Python API).
    """

    file: str
    node: Any = None
    path: Path = ()
    line: int | None = None

    def child(self, *steps: str | int) -> Where:
        node = self.node
        for step in steps:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        return Where(self.file, node, (*self.path, *steps), self.line_of(steps))

    def line_of(self, steps: Sequence[str | int] = ()) -> int | None:
        found = line_at(self.node, steps)
        return found if found is not None else self.line

    def location(self, steps: Sequence[str | int] = ()) -> str:
        line = self.line_of(steps)
        return f"{self.file}:{line}" if line is not None else self.file

    def label(self, steps: Sequence[str | int] = ()) -> str:
        return format_path((*self.path, *steps))


@dataclass
class Problems:
    """Problems as ``(file, line, message)``; :meth:`raise_if_any` ends the load."""

    source: str
    items: list[tuple[str, int | None, str]] = field(default_factory=list)

    def add(self, where: Where, message: str, steps: Sequence[str | int] = ()) -> None:
        label = where.label(steps)
        text = f"{label}: {message}" if label else message
        self.items.append((where.file, where.line_of(steps), text))

    def add_validation(self, where: Where, exc: ValidationError, *, context: str = "") -> None:
        """One problem per field path; a union's alternatives are merged with "or"."""
        grouped: dict[Path, list[str]] = {}
        for err in exc.errors():
            steps = _data_steps(where.node, err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown field (Extra inputs are not permitted)"
            grouped.setdefault(steps, [])
            if message not in grouped[steps]:
                grouped[steps].append(message)
        for steps, messages in grouped.items():
            self.add(where, f"{context}{', or '.join(messages)}", steps)

    def check_keys(self, where: Where, data: dict[Any, Any], allowed: AbstractSet[str]) -> bool:
        """Report every key of ``data`` outside ``allowed`` (with a "did you mean")."""
        if data.keys() <= allowed:
            return True
        known = sorted(allowed)
        ok = True
        for key in data:
            if key in known:
                continue
            ok = False
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            self.add(where, f"unknown field (Extra inputs are not permitted){hint}", (key,))
        return ok

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        # The suite file first, then each dataset, each in line order.
        items = sorted(self.items, key=lambda it: (it[0] != self.source, it[0], it[1] or 0))
        located = [(f"{file}:{line}" if line else file, msg) for file, line, msg in items]
        if len(located) == 1:
            location, message = located[0]
            raise SuiteError(message, location=location)
        listed = [f"  {loc}: {msg}" for loc, msg in located[:MAX_LISTED]]
        if len(self.items) > MAX_LISTED:
            listed.append(f"  ... and {len(self.items) - MAX_LISTED} more")
        raise SuiteError(f"{len(self.items)} problems:\n" + "\n".join(listed), location=self.source)


def _data_steps(node: Any, loc: Sequence[str | int]) -> Path:
    """The part of a pydantic ``loc`` that names data: union branch names are dropped
    (``content.str`` → ``content``), and so is everything past a missing field or a
    scalar."""
    steps: list[str | int] = []
    for step in loc:
        if isinstance(node, dict):
            if step in node:
                steps.append(step)
                node = node[step]
            elif not _is_branch_name(step):
                steps.append(step)  # a missing or unknown field: name it, stop there
                break
        elif isinstance(node, list):
            if isinstance(step, int) and 0 <= step < len(node):
                steps.append(step)
                node = node[step]
            elif not _is_branch_name(step):
                break
        else:
            break  # a scalar: the rest are union branch names ('str', 'int', ...)
    return tuple(steps)


def _is_branch_name(step: str | int) -> bool:
    # 'list[union[TextPart,ImagePart]]', 'TextPart', 'function-after[...]'
    return isinstance(step, str) and ("[" in step or "," in step or step[:1].isupper())


def not_unicode(exc: UnicodeEncodeError) -> str:
    """What is wrong with a case holding a lone surrogate (``"\\ud800"`` in JSON)."""
    bad = exc.object[exc.start : exc.end]
    return (
        f"text that is not valid Unicode: the lone surrogate {bad!r} (a JSON escape such as"
        " \\ud800 that is not half of a pair); write the character itself"
    )
