"""Tables and Inspect datasets → evalbook suites.

``table``: any JSONL, CSV/TSV or Parquet file with a column mapping::

    evalbook import table data.parquet --input question --expected answer --section subject

Every column is a case variable; ``--input`` names the one the prompt sends
(``{{ question }}``), ``--expected`` the reference, ``--section``, ``--id`` and
``--choices`` (a list, or text split on ``|``) what their names say. Without
``--scorer``, a table with a reference is scored by ``exact-match`` (``choice`` when it
has choices) and one without by ``non-empty``.

``inspect``: an Inspect dataset file (JSONL or CSV with ``input`` — text or a chat —
``target``, ``choices``, ``id``, ``metadata``), mapped as Inspect's own ``json_dataset`` /
``csv_dataset`` read it. Inspect keeps its scorers in the task, not the data, so the same
defaults apply; the prompt of a multiple-choice dataset lists the lettered choices.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

from evalbook.errors import ConfigError, SuiteError
from evalbook.importers._files import Row, read_rows
from evalbook.importers._model import ImportedSuite, ImportOptions, ImportReport
from evalbook.importers._registry import Importer
from evalbook.importers._specs import suite_slug
from evalbook.importers._templates import as_sent
from evalbook.suites.yaml_lines import parse_yaml

__all__ = ["INSPECT", "TABLE", "import_inspect", "import_table", "read_table"]

_ROLES = {"system", "user", "assistant"}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CHOICE_PROMPT = (
    "{{ input }}\n\n"
    "{% for c in choices %}"
    "{{ 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[loop.index0] }}) {{ c }}\n"
    "{% endfor %}"
    "Answer with the letter of the correct choice."
)
_SAMPLE_FIELDS = ("input", "target", "choices", "id", "metadata")
_ROLES_OF_MAPPING = ("input", "expected", "section", "id", "choices")


def read_table(path: Path, where: str) -> list[Row]:
    """The records of a JSONL, CSV/TSV or Parquet file, each with its line (row number
    for Parquet)."""
    if path.suffix.lower() != ".parquet":
        return read_rows(path, where)
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        raise ConfigError("reading Parquet needs pyarrow: pip install 'evalbook[parquet]'") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several kinds for a bad file
        raise SuiteError(f"cannot read Parquet: {exc}", location=where) from exc
    return [
        Row({k: _plain(v) for k, v in record.items()}, str(path), number)
        for number, record in enumerate(table.to_pylist(), start=1)
    ]


def _plain(value: Any) -> Any:
    """A JSON value for a Parquet cell (dates as ISO text, decimals as numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def import_table(path: Path, options: ImportOptions) -> ImportedSuite:
    file = str(path)
    columns = dict(options.columns)
    unknown = sorted(set(columns) - set(_ROLES_OF_MAPPING))
    if unknown:
        raise ConfigError(f"unknown column role(s) {unknown}; use {', '.join(_ROLES_OF_MAPPING)}")
    if "input" not in columns:
        raise ConfigError("a table import needs --input COLUMN (the text the prompt sends)")
    rows = read_table(path, file)
    if not rows:
        raise SuiteError("the table has no rows", location=file)
    report = ImportReport("table", file)
    cases = []
    for row in rows:
        where = f"{row.file}:{row.line}"
        if not isinstance(row.data, dict):
            raise SuiteError("a row must be an object of columns", location=where)
        for role, column in columns.items():
            if column not in row.data:
                raise SuiteError(
                    f"--{role} {column!r}: no such column (columns: {', '.join(row.data)})",
                    location=where,
                )
        case: dict[str, Any] = {"vars": dict(row.data)}
        if "id" in columns:
            case["id"] = str(row.data[columns["id"]])
        if "expected" in columns and row.data[columns["expected"]] not in (None, ""):
            case["expected"] = row.data[columns["expected"]]
        if "section" in columns and row.data[columns["section"]] not in (None, ""):
            case["section"] = str(row.data[columns["section"]])
        if "choices" in columns:
            case["choices"] = _choices(row.data[columns["choices"]], where)
        cases.append(case)
    input_var = columns["input"]
    has_choices = "choices" in columns
    prompt = "{{ " + input_var + " }}"
    if has_choices:
        prompt = _CHOICE_PROMPT.replace("{{ input }}", prompt)
    suite: dict[str, Any] = {
        "id": suite_slug(path.stem, "table"),
        "name": path.stem,
        "prompt": prompt,
    }
    if options.model:
        suite["model"] = options.model
    suite["scorers"] = _default_scorers(options, any("expected" in c for c in cases), has_choices)
    suite["cases"] = cases
    report.cases = len(cases)
    header = [f"Columns: {', '.join(f'{k}={v}' for k, v in columns.items())}"]
    return ImportedSuite(suite, report, path.parent, header)


def import_inspect(path: Path, options: ImportOptions) -> ImportedSuite:
    file = str(path)
    rows = read_table(path, file)
    if not rows:
        raise SuiteError("the dataset has no samples", location=file)
    report = ImportReport("inspect", file)
    cases = []
    for row in rows:
        cases.append(_inspect_case(row, report))
    has_choices = any("choices" in c for c in cases)
    suite: dict[str, Any] = {"id": suite_slug(path.stem, "table"), "name": path.stem}
    if any("messages" not in c for c in cases):
        suite["prompt"] = _CHOICE_PROMPT if has_choices else "{{ input }}"
    if options.model:
        suite["model"] = options.model
    suite["scorers"] = _default_scorers(options, any("expected" in c for c in cases), has_choices)
    suite["cases"] = cases
    report.cases = len(cases)
    header = [
        "Inspect keeps scorers in the task, not the dataset: the suite's scorers are a"
        " default (give --scorer to choose).",
    ]
    return ImportedSuite(suite, report, path.parent, header)


def _inspect_case(row: Row, report: ImportReport) -> dict[str, Any]:
    where = f"{row.file}:{row.line}"
    data = row.data
    if not isinstance(data, dict) or data.get("input") in (None, ""):
        raise SuiteError("a sample needs 'input' (text or a list of chat messages)", location=where)
    case: dict[str, Any] = {}
    raw = data["input"]
    if row.file.endswith((".csv", ".tsv")):
        raw = _json_or_text(raw)
    if isinstance(raw, list):
        case["messages"] = [_message(m, i, where) for i, m in enumerate(raw)]
    else:
        case["vars"] = {"input": str(raw)}
    if data.get("id") not in (None, ""):
        case["id"] = str(data["id"])
    target = data.get("target")
    if row.file.endswith((".csv", ".tsv")):
        target = _json_or_text(target)
    if target not in (None, ""):  # Inspect targets are text (a list: any of them)
        case["expected"] = [str(t) for t in target] if isinstance(target, list) else str(target)
    choices = data.get("choices")
    if choices not in (None, ""):
        case["choices"] = _choices(choices, where)
    metadata = _json_or_text(data.get("metadata"))
    extra = {k: v for k, v in data.items() if k not in _SAMPLE_FIELDS}
    for key in ("files", "setup", "sandbox"):
        if extra.pop(key, None) not in (None, "", {}, []):
            report.note(
                row.file, row.line, key, f"sample {key} (tool-use environments) are not imported"
            )
    if isinstance(metadata, dict) or extra:
        case["metadata"] = {**(metadata if isinstance(metadata, dict) else {}), **extra}
    return case


def _json_or_text(value: Any) -> Any:
    """A CSV cell that holds JSON (a list, an object) as that value; other text as is."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _message(raw: Any, i: int, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("role") not in _ROLES:
        raise SuiteError(
            f"input[{i}]: a message needs a role (system, user, assistant)", location=where
        )
    content = raw.get("content")
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if len(texts) != len(content):
            raise SuiteError(f"input[{i}].content: only text parts are imported", location=where)
        content = "".join(str(t) for t in texts)
    if not isinstance(content, str):
        raise SuiteError(f"input[{i}].content: must be text", location=where)
    return {"role": raw["role"], "content": as_sent(content)}


def _choices(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = _json_or_text(value)
        if isinstance(value, str):
            return [part.strip() for part in value.split("|") if part.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise SuiteError(f"choices: must be a list or text split on '|', not {value!r}", location=where)


def _default_scorers(options: ImportOptions, has_expected: bool, has_choices: bool) -> list[Any]:
    if options.scorers:
        return [_parse_scorer(s) for s in options.scorers]
    if has_choices:
        return ["choice"]
    return ["exact-match"] if has_expected else ["non-empty"]


def _parse_scorer(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return parse_yaml(raw, "--scorer")
    except SuiteError:
        return raw


TABLE = Importer(
    name="table",
    description="any JSONL, CSV/TSV or Parquet table, with a column mapping (--input …)",
    load=import_table,
)
INSPECT = Importer(
    name="inspect",
    description="an Inspect dataset (JSONL/CSV: input, target, choices, id, metadata)",
    load=import_inspect,
)
