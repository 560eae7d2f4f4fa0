"""promptfoo ``scenarios`` → tests: every ``config`` entry × every test of the scenario.

As ``promptfoo eval`` expands them: a scenario's test runs once per entry of its
``config`` (a partial test: vars, assertions, metadata, options), the entry's vars under
the test's own, its assertions before the test's; a scenario may be a ``file://`` path
or a glob of files, each holding one scenario or a list of them. The tests come after
the config's ``tests``, numbered on from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.importers._files import (
    is_file_ref,
    line_of,
    located,
    read_structured,
    resolve_refs,
)
from evalbook.importers.promptfoo._tests import RawTest
from evalbook.suites.yaml_lines import plain

__all__ = ["collect_scenarios"]


def collect_scenarios(raw: Any, base_dir: Path, file: str, line: int | None) -> list[RawTest]:
    if raw is None:
        return []
    out: list[RawTest] = []
    for item, item_line in located(raw, line):
        where = f"{file}:{item_line}" if item_line else file
        if is_file_ref(item):
            for path in resolve_refs(item, base_dir, where):
                loaded = read_structured(path, where)
                found = loaded if isinstance(loaded, list) else [loaded]
                found_lines = getattr(loaded, "item_lines", None) or []
                for j, scenario in enumerate(found):
                    at = found_lines[j] if j < len(found_lines) else line_of(scenario)
                    out.extend(_expand(scenario, base_dir, str(path), at))
        else:
            out.extend(_expand(item, base_dir, file, item_line))
    return out


def _expand(scenario: Any, base_dir: Path, file: str, line: int | None) -> list[RawTest]:
    where = f"{file}:{line}" if line else file
    if not isinstance(scenario, dict):
        raise SuiteError("a scenario must be a mapping with config and tests", location=where)
    configs = _entries(scenario.get("config"), base_dir, where) or [{}]
    tests = scenario.get("tests") or [{}]
    if not isinstance(tests, list):
        raise SuiteError("scenario tests: must be a list of tests", location=where)
    out: list[RawTest] = []
    for config in configs:
        for test, at in located(tests, line):
            if not isinstance(test, dict):
                raise SuiteError(
                    "a scenario test must be a mapping (vars, assert, …)",
                    location=f"{file}:{at}" if at else file,
                )
            out.append(RawTest(_merge(config, test), file, at))
    return out


def _entries(raw: Any, base_dir: Path, where: str) -> list[dict[str, Any]]:
    """A scenario's ``config`` list, with ``$values: file://…`` entries flattened in."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SuiteError("scenario config: must be a list of partial tests", location=where)
    out: list[dict[str, Any]] = []
    for entry in raw:
        ref = entry.get("$values") if isinstance(entry, dict) else None
        if isinstance(ref, str) and is_file_ref(ref):
            for path in resolve_refs(ref, base_dir, where):
                loaded = plain(read_structured(path, where))
                out.extend(loaded if isinstance(loaded, list) else [loaded])
        elif isinstance(entry, dict):
            out.append(plain(entry))
        else:
            raise SuiteError(
                f"scenario config: {plain(entry)!r} is not a partial test", location=where
            )
    return out


def _merge(config: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """The test with the config entry under it (promptfoo's order: the test wins)."""
    merged: dict[str, Any] = {**config, **dict(test)}
    for key in ("vars", "metadata"):  # options: the test's own, as promptfoo merges
        if isinstance(config.get(key), dict) or isinstance(test.get(key), dict):
            merged[key] = {**(config.get(key) or {}), **plain(test.get(key) or {})}
    if config.get("assert"):
        merged["assert"] = [*config["assert"], *(test.get("assert") or [])]
    return merged
