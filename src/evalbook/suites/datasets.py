"""Cases from JSONL and CSV files beside a suite (``cases: [{file: more.jsonl}]``).

JSONL: one JSON object per line; blank lines are skipped. A line that has ``vars`` or
``messages`` is a case in the suite-file form (unknown keys are errors). Any other line is
*flat*: its keys ``id, expected, choices, section, tags, metadata, assets, scorers`` are
case fields and every other key becomes a template variable, so
``{"question": "2+3?", "expected": "5"}`` is a case with ``vars = {"question": "2+3?"}``.

CSV: a header row, then one case per row. Columns ``id, expected, section`` are case
fields (an empty cell means "not given"), ``tags`` is split on ``,`` or ``;``,
``choices`` on ``|``; every other column is a variable (always a string).

Every row keeps its line number (the first line of a multi-line CSV row), so errors in
a dataset name ``file:line``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from evalbook.suites.problems import Problems, Where

__all__ = ["DATASET_SUFFIXES", "DatasetRow", "case_from_row", "parse_dataset", "read_dataset"]

#: Keys whose presence marks a JSONL line (or an API row) as a full case.
STRUCTURED_MARKERS = frozenset({"vars", "messages"})
#: Keys of a flat row that are case fields rather than variables.
FLAT_CASE_FIELDS = ("id", "expected", "choices", "section", "tags", "metadata", "assets", "scorers")
CSV_CASE_COLUMNS = frozenset({"id", "expected", "section", "tags", "choices"})
DATASET_SUFFIXES = (".jsonl", ".ndjson", ".csv")
_decode = json.JSONDecoder().decode  # json.loads without its checks of the argument


class DatasetRow(NamedTuple):
    """One case read from a dataset file, in the suite-file form, with its position."""

    data: dict[str, Any]
    where: Where


def case_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row (variables beside case fields) in the suite-file case form."""
    if STRUCTURED_MARKERS & row.keys():
        return dict(row)
    case = {k: row[k] for k in FLAT_CASE_FIELDS if k in row}
    case["vars"] = {k: v for k, v in row.items() if k not in FLAT_CASE_FIELDS}
    return case


def read_dataset(path: Path, display: str, problems: Problems) -> Iterator[DatasetRow]:
    """The rows of a dataset file, read as they are consumed (the file is never held
    whole); row errors go to ``problems`` with ``display:line``.

    Raises ``OSError`` when the file cannot be opened and ``ValueError`` for an
    unsupported extension, at once; ``UnicodeDecodeError`` (a ``ValueError``) while rows
    are read. The caller names the suite line.
    """
    suffix = path.suffix.lower()
    if suffix not in DATASET_SUFFIXES:
        raise ValueError(
            f"unsupported dataset file type {suffix or '(none)'!r}; use"
            f" {', '.join(DATASET_SUFFIXES)}"
        )
    # newline="\n": lines end at "\n" only, as the text's split did (CSV: the reader
    # handles the row ends itself).
    fh = open(path, encoding="utf-8-sig", newline="" if suffix == ".csv" else "\n")  # noqa: SIM115
    read = _read_csv if suffix == ".csv" else _read_jsonl
    return _closing(fh, read(fh, display, problems))


def _closing(fh: io.TextIOBase, rows: Iterator[DatasetRow]) -> Iterator[DatasetRow]:
    with fh:
        yield from rows


def parse_dataset(text: str, suffix: str, display: str, problems: Problems) -> list[DatasetRow]:
    """The rows of a dataset's text (``suffix``: ``.csv``, else JSONL); a file uploaded to
    the server is read here too, its errors naming ``display:line`` the same way."""
    if suffix.lower() == ".csv":
        return list(_read_csv(io.StringIO(text, newline=""), display, problems))
    return list(_read_jsonl(text.split("\n"), display, problems))


def _read_jsonl(lines: Iterable[str], display: str, problems: Problems) -> Iterator[DatasetRow]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = _decode(line)
        except json.JSONDecodeError as exc:
            problems.add(
                Where(display, line=number), f"invalid JSON at column {exc.colno}: {exc.msg}"
            )
            continue
        except RecursionError:
            problems.add(Where(display, line=number), "JSON nested too deeply")
            continue
        if type(value) is not dict:
            message = f"a JSONL line must be a JSON object, not {_json_type(value)}"
            problems.add(Where(display, line=number), message)
            continue
        case = case_from_row(value)
        yield DatasetRow(case, Where(display, case, line=number))


def _read_csv(lines: Iterable[str], display: str, problems: Problems) -> Iterator[DatasetRow]:
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        problems.add(Where(display, line=1), "a CSV dataset needs a header row")
        return
    except csv.Error as exc:
        problems.add(Where(display, line=1), f"invalid CSV: {exc}")
        return
    seen: set[str] = set()
    for name in header:
        if not name or name in seen:
            problems.add(Where(display, line=1), f"header column {name!r} is empty or repeated")
            return
        seen.add(name)
    while True:
        number = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(Where(display, line=number), f"invalid CSV: {exc}")
            break
        if not any(cell.strip() for cell in cells):
            continue
        where = Where(display, line=number)
        if len(cells) != len(header):
            problems.add(where, f"row has {len(cells)} cells, the header has {len(header)}")
            continue
        case = _csv_case(dict(zip(header, cells, strict=True)))
        yield DatasetRow(case, Where(display, case, line=number))


def _csv_case(row: dict[str, str]) -> dict[str, Any]:
    case: dict[str, Any] = {"vars": {k: v for k, v in row.items() if k not in CSV_CASE_COLUMNS}}
    for key in ("id", "expected", "section"):
        if row.get(key, "").strip():
            case[key] = row[key].strip() if key != "expected" else row[key]
    if row.get("tags", "").strip():
        case["tags"] = [t.strip() for t in re.split(r"[,;]", row["tags"]) if t.strip()]
    if row.get("choices", "").strip():
        case["choices"] = [c.strip() for c in row["choices"].split("|")]
    return case


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
