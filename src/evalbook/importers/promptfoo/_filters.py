"""promptfoo's per-test ``providers:`` / ``prompts:`` filters → the suite's
``case_filters:`` (the model labels and prompt versions a case runs with).

promptfoo matches a provider by its label, its exact id, a wildcard (``openai:*``: every
id or label starting with ``openai:``) or a bare prefix (``openai`` matches
``openai:…``); a prompt by its label or id, ``*`` a wildcard. ``defaultTest`` may set
either for every test without its own. A provider the importer did not map (no
evalbook equivalent) cannot be chosen; a test that runs in no combination that was
imported is left out, with a note.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

__all__ = ["Choice", "FilterSpec", "resolve_filter"]


@dataclass(frozen=True)
class Choice:
    """One model or prompt version a filter can choose: its evalbook name (model label
    or version number) and the promptfoo names that match it (label, id)."""

    key: Any
    names: tuple[str, ...]


@dataclass(frozen=True)
class FilterSpec:
    providers: list[str] | None
    prompts: list[str] | None
    file: str
    line: int | None
    #: ``providers`` is the test's own ``provider:`` (its id and label), not a filter.
    own_provider: bool = False


def _matches(pattern: str, names: tuple[str, ...], *, prefix: bool) -> bool:
    for name in names:
        if pattern == name:
            return True
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(name, pattern):
            return True
        if prefix and ":" not in pattern and name.startswith(pattern + ":"):
            return True
    return False


def resolve_filter(
    patterns: list[str] | None, choices: list[Choice], *, prefix: bool
) -> list[Any] | None:
    """The keys of the choices the patterns select (``None``: no filter, every one)."""
    if patterns is None:
        return None
    return [c.key for c in choices if any(_matches(p, c.names, prefix=prefix) for p in patterns)]
