"""Reading the files another tool's config points at, each problem at ``file:line``.

``file://`` references are relative to the file that names them; globs expand in sorted
order; YAML keeps its lines (:mod:`evalbook.suites.yaml_lines`), JSONL and CSV rows
carry their line numbers, so every later message can say where a thing was written.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.suites.yaml_lines import parse_yaml

__all__ = [
    "FILE_PREFIX",
    "Row",
    "is_file_ref",
    "line_of",
    "located",
    "names_file",
    "read_rows",
    "read_structured",
    "read_text",
    "resolve_refs",
]

FILE_PREFIX = "file://"


@dataclass(frozen=True)
class Row:
    """One record of a data file: its values and the line it starts on."""

    data: Any
    file: str
    line: int | None


def is_file_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FILE_PREFIX)


def line_of(node: Any, key: Any = None) -> int | None:
    """The line of ``node`` (a parsed YAML container), or of its ``key``'s value."""
    if key is not None:
        lines = getattr(node, "key_lines", None)
        if isinstance(lines, dict) and key in lines:
            return int(lines[key])
        item_lines = getattr(node, "item_lines", None)
        if isinstance(item_lines, list) and isinstance(key, int) and key < len(item_lines):
            return int(item_lines[key])
    line = getattr(node, "line", None)
    return int(line) if line is not None else None


def located(raw: Any, line: int | None) -> Iterator[tuple[Any, int | None]]:
    """The items of ``raw`` (a list, or one value taken as a list of one), each with its
    line: its own where the YAML gave one, else ``line``."""
    items = raw if isinstance(raw, list) else [raw]
    lines = getattr(raw, "item_lines", None) or []
    for i, item in enumerate(items):
        yield item, lines[i] if i < len(lines) else line


def resolve_refs(ref: str, base_dir: Path, where: str) -> list[Path]:
    """The files a ``file://`` reference names (a glob: every match, sorted).

    A ``:function`` suffix (``file://x.py:fn``) is kept out of the path; a reference
    that names nothing is an error at ``where``.
    """
    raw = ref[len(FILE_PREFIX) :] if ref.startswith(FILE_PREFIX) else ref
    raw = split_function(raw)[0]
    pattern = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    if any(c in raw for c in "*?["):
        found = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True))
        found = [p for p in found if p.is_file()]
        if not found:
            raise SuiteError(f"{ref!r} matches no file", location=where)
        return found
    if not pattern.is_file():
        raise SuiteError(f"{ref!r}: no such file ({pattern})", location=where)
    return [pattern]


def names_file(value: Any, base_dir: Path) -> bool:
    """Whether ``value`` is a path without ``file://`` that names an existing file (or a
    glob that matches one) relative to ``base_dir``: promptfoo reads such a prompt or
    tests entry as that file (``prompts: [prompt1.txt]`` in its own guide). Text with a
    line break or a template is never a path."""
    if not isinstance(value, str) or not value or "\n" in value or "{{" in value:
        return False
    if "://" in value or len(value) > 1000:
        return False
    try:
        raw = split_function(value)[0]
        pattern = Path(raw) if Path(raw).is_absolute() else base_dir / raw
        if any(c in raw for c in "*?["):
            return any(Path(p).is_file() for p in glob.glob(str(pattern), recursive=True))
        return pattern.is_file()
    except (OSError, ValueError):
        return False


def split_function(raw: str) -> tuple[str, str | None]:
    """``x.py:fn`` → (``x.py``, ``fn``); a Windows drive letter is not a function."""
    head, sep, tail = raw.rpartition(":")
    if sep and head and "/" not in tail and "." not in tail and len(head) > 1:
        return head, tail
    return raw, None


def read_text(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read {path}: {exc}", location=where) from exc


def read_structured(path: Path, where: str) -> Any:
    """A YAML or JSON file's value (YAML with lines); JSONL as a list of :class:`Row`."""
    text = read_text(path, where)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_rows(text, str(path)))
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                f"invalid JSON at column {exc.colno}: {exc.msg}", location=f"{path}:{exc.lineno}"
            ) from exc
        except RecursionError:
            raise SuiteError("JSON nested too deeply", location=str(path)) from None
    return parse_yaml(text, str(path))


def read_rows(path: Path, where: str) -> list[Row]:
    """The records of a CSV/TSV (header row; values as text) or JSONL file."""
    suffix = path.suffix.lower()
    text = read_text(path, where)
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_rows(text, str(path)))
    if suffix in (".csv", ".tsv"):
        return _csv_rows(text, str(path), "\t" if suffix == ".tsv" else ",")
    raise SuiteError(f"{path.name}: expected a .csv, .tsv or .jsonl file", location=where)


def _jsonl_rows(text: str, name: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(
                f"invalid JSON at column {exc.colno}: {exc.msg}", location=f"{name}:{number}"
            ) from exc
        except RecursionError:
            raise SuiteError("JSON nested too deeply", location=f"{name}:{number}") from None
        yield Row(value, name, number)


def _csv_rows(text: str, name: str, delimiter: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SuiteError("the file is empty (a header row is needed)", location=name) from None
    except csv.Error as exc:
        raise SuiteError(f"invalid CSV: {exc}", location=f"{name}:1") from exc
    header = [h.strip() for h in header]
    rows: list[Row] = []
    line = reader.line_num + 1
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise SuiteError(
                    f"{len(values)} values for {len(header)} columns", location=f"{name}:{start}"
                )
            rows.append(Row(dict(zip(header, values, strict=True)), name, start))
    except csv.Error as exc:
        raise SuiteError(f"invalid CSV: {exc}", location=f"{name}:{line}") from exc
    return rows
