"""promptfoo ``tests`` → evalbook cases (and their scorers).

Tests come inline, from ``file://`` YAML/JSON/JSONL files, CSV files (``__expected``,
``__expected1…``, ``__description``, ``__metadata:*``, ``__config:*``, ``__metric``
columns) or globs of those. A var given as a list runs the test once per value (every
combination, as promptfoo does); a ``file://`` var is the file's text (an image: its
base64). Cases are numbered ``test-1``, ``test-2``, … in promptfoo's order, so results
imported later pair with them.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.importers._files import (
    FILE_PREFIX,
    Row,
    is_file_ref,
    line_of,
    located,
    names_file,
    read_rows,
    read_structured,
    read_text,
    resolve_refs,
)
from evalbook.importers._model import ImportReport, Note
from evalbook.importers.promptfoo._asserts import (
    KNOWN_TYPES,
    AssertMapper,
    parse_csv_assertion,
)
from evalbook.importers.promptfoo._filters import FilterSpec
from evalbook.importers.promptfoo._providers import judge_spec
from evalbook.suites.yaml_lines import LineDict, plain

__all__ = [
    "OPTIONS",
    "UNSUPPORTED_OPTIONS",
    "RawTest",
    "TestMapper",
    "collect_tests",
    "transform_of",
]

_TEST_KEYS = {
    "description",
    "vars",
    "assert",
    "options",
    "metadata",
    "threshold",
    "providers",
    "prompts",
    "provider",
    "only",
    "tags",
}
_IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_CODE = {".py", ".js", ".mjs", ".cjs", ".ts"}
#: Test options that are mapped (``provider``: the grader; ``transform`` and its older
#: name ``postprocess``: extractors; ``disableVarExpansion``: list vars kept as lists).
OPTIONS = {"provider", "transform", "postprocess", "disableVarExpansion"}
#: Test options evalbook cannot honour, and why (reported with their line).
UNSUPPORTED_OPTIONS = {
    "prefix": "evalbook does not change a prompt per case; put the text in the prompt"
    " (a new prompt version) or in a var",
    "suffix": "evalbook does not change a prompt per case; put the text in the prompt"
    " (a new prompt version) or in a var",
    "storeOutputAs": "a test's output is not fed into later tests' vars; each case runs alone",
    "transformVars": "vars computed by code are not run; write the values into the test",
    "rubricPrompt": "a per-test grading prompt is not imported; the llm-judge uses evalbook's"
    " rubric prompt",
    "runSerially": "cases run concurrently (set --concurrency 1 on `evalbook run`)",
    "disableConversationVar": "evalbook has no _conversation var",
}


def transform_of(options: Any) -> Any:
    """The transform of a test's (or defaultTest's) ``options``: ``transform``, else its
    older name ``postprocess``."""
    if not isinstance(options, dict):
        return None
    found = options.get("transform")
    return options.get("postprocess") if found is None else found


@dataclass(frozen=True, eq=False)
class AssertionCount:
    """What mapping one test's assertions added to the report."""

    assertions: int
    mapped: int
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class RawTest:
    """One promptfoo test as written, with where it was written."""

    data: Any
    file: str
    line: int | None


def collect_tests(raw: Any, base_dir: Path, file: str, line: int | None) -> list[RawTest]:
    """Every test of a ``tests`` value, files and globs read, in order."""
    if raw is None:
        return []
    out: list[RawTest] = []
    for item, item_line in located(raw, line):
        where = f"{file}:{item_line}" if item_line else file
        if (
            isinstance(item, dict)
            and is_file_ref(item.get("path"))
            and not ({"vars", "assert"} & set(item))
        ):
            item = item["path"]  # a test generator config {path, config}: its file
        if not is_file_ref(item) and names_file(item, base_dir):
            item = FILE_PREFIX + item  # promptfoo reads a bare tests path as that file
        if is_file_ref(item) and _folder(item, base_dir) is not None:
            for path in _folder_files(_folder(item, base_dir), item, where):
                out.extend(_tests_of_file(path, where))
        elif is_file_ref(item):
            for path in resolve_refs(item, base_dir, where):
                out.extend(_tests_of_file(path, where))
        elif isinstance(item, str):
            raise SuiteError(
                f"tests: {item!r} is neither a test nor a file:// path (huggingface:// and"
                " other remote sources are not imported: download them to a file)",
                location=where,
            )
        else:
            out.append(RawTest(item, file, item_line))
    return out


#: What a tests folder (``tests: file://tests/``) is read for, as promptfoo reads one.
_FOLDER_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".csv")


def _folder(ref: str, base_dir: Path) -> Path | None:
    raw = ref[len(FILE_PREFIX) :]
    path = Path(raw) if Path(raw).is_absolute() else base_dir / raw
    return path if not any(c in raw for c in "*?[") and path.is_dir() else None


def _folder_files(folder: Path | None, ref: str, where: str) -> list[Path]:
    """The test files directly in a folder, by name; an error when it holds none."""
    assert folder is not None
    found = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _FOLDER_SUFFIXES
    )
    if not found:
        raise SuiteError(
            f"{ref!r} is a folder with no test file ({', '.join(_FOLDER_SUFFIXES)})",
            location=where,
        )
    return found


def _tests_of_file(path: Path, where: str) -> list[RawTest]:
    suffix = path.suffix.lower()
    if suffix in _CODE:
        raise SuiteError(
            f"{path.name} generates tests in code; evalbook does not run it (write its"
            " tests to a CSV, JSONL or YAML file)",
            location=where,
        )
    if suffix in (".csv", ".tsv"):
        return [RawTest(_csv_test(row), row.file, row.line) for row in read_rows(path, where)]
    value = read_structured(path, where)
    if suffix in (".jsonl", ".ndjson"):
        return [RawTest(row.data, row.file, row.line) for row in value]
    items = value if isinstance(value, list) else [value]
    lines = getattr(value, "item_lines", None) or []
    return [
        RawTest(item, str(path), lines[i] if i < len(lines) else line_of(item))
        for i, item in enumerate(items)
    ]


def _csv_test(row: Row) -> dict[str, Any]:
    values: dict[str, str] = row.data
    test: dict[str, Any] = {"vars": {}, "assert": []}
    metadata: dict[str, Any] = {}
    configs: dict[str, dict[str, Any]] = {}
    for column, cell in values.items():
        if column.startswith("__expected"):
            if cell.strip():
                assertion = parse_csv_assertion(cell, KNOWN_TYPES)
                assertion["_column"] = column
                test["assert"].append(assertion)
        elif column == "__description":
            test["description"] = cell
        elif column.startswith("__metadata:"):
            key = column[len("__metadata:") :]
            if key.endswith("[]"):
                metadata[key[:-2]] = [v.strip() for v in cell.split(",") if v.strip()]
            elif cell != "":
                metadata[key] = cell
        elif column.startswith("__config:"):
            _, target, option = [*column.split(":", 2), "", ""][:3]
            if cell.strip():
                configs.setdefault(target, {})[option] = _number(cell)
        elif column == "__metric":
            test["_metric"] = cell
        elif column == "__threshold":
            if cell.strip():
                test["threshold"] = _number(cell)
        elif column in ("__prefix", "__suffix"):
            if cell:
                test.setdefault("options", {})[column[2:]] = cell
        elif column.startswith("__"):
            test.setdefault("_unknown", []).append(column)
        else:
            test["vars"][column] = cell
    for assertion in test["assert"]:
        column = assertion.pop("_column")
        assertion.update(configs.get(column, {}))
        if test.get("_metric"):
            assertion["metric"] = test["_metric"]
    test.pop("_metric", None)
    if metadata:
        test["metadata"] = metadata
    return test


def _number(cell: str) -> Any:
    try:
        return float(cell) if "." in cell else int(cell)
    except ValueError:
        return cell


@dataclass
class TestMapper:
    """Turns tests into cases, with the config's ``defaultTest`` applied."""

    report: ImportReport
    asserts: AssertMapper
    base_dir: Path
    default_vars: dict[str, Any]
    default_transform: Any = None
    default_grader: Any = None
    provider_ids: tuple[str, ...] = ()
    count: int = 0
    default_metadata: dict[str, Any] = field(default_factory=dict)
    #: defaultTest's providers:/prompts: filters (a test's own replace them).
    default_filters: dict[str, Any] = field(default_factory=dict)
    #: Case id → the test's providers:/prompts: filters, resolved by the config.
    filters: dict[str, FilterSpec] = field(default_factory=dict)
    #: Case id → what mapping its test's assertions added to the report (assertions,
    #: mapped ones, notes), so that a test the filters leave out is taken back out of the
    #: summary (its cases share one entry).
    counted: dict[str, AssertionCount] = field(default_factory=dict)
    #: defaultTest's ``threshold`` (a test's own wins) and its assertions, which a test
    #: with a threshold weighs with its own, as promptfoo does.
    default_threshold: Any = None
    default_scorers: list[dict[str, Any]] = field(default_factory=list)
    #: Ids of the cases judged as one ``assert-set`` by their test's threshold.
    thresholded: set[str] = field(default_factory=set)

    def cases(self, test: RawTest) -> Iterator[dict[str, Any]]:
        data = test.data
        where = f"{test.file}:{test.line}" if test.line else test.file
        if not isinstance(data, dict):
            raise SuiteError(
                f"a test must be a mapping (vars, assert, …), not {plain(data)!r}", location=where
            )
        self._note_unmapped(data, test)
        vars_raw = data.get("vars") or {}
        if isinstance(vars_raw, str) and is_file_ref(vars_raw):
            loaded = read_structured(resolve_refs(vars_raw, self.base_dir, where)[0], where)
            vars_raw = plain(loaded)
        if not isinstance(vars_raw, dict):
            raise SuiteError(f"vars: must be a mapping, not {plain(vars_raw)!r}", location=where)
        merged = {**self.default_vars, **plain(vars_raw)}
        loaded_vars = {k: self._var_value(v, where) for k, v in merged.items()}
        options = plain(data.get("options")) or {}
        grader = self.default_grader
        if isinstance(options, dict) and options.get("provider") is not None:
            grader = judge_spec(options["provider"], grader)
        transform = transform_of(options)
        if transform is None:
            transform = self.default_transform
        raw_asserts = data.get("assert")
        before = (self.report.assertions, self.report.assertions_mapped, len(self.report.notes))
        threshold = data.get("threshold")
        if threshold is None:
            threshold = self.default_threshold
        self.asserts.nest_sets = threshold is not None
        try:
            scorers = self.asserts.map_list(
                raw_asserts,
                test.file,
                line_of(data, "assert") or test.line,
                transform=transform,
                grader=grader,
                item_lines=getattr(raw_asserts, "item_lines", None)
                if isinstance(data, LineDict)
                else None,
            )
        finally:
            self.asserts.nest_sets = False
        grouped = threshold is not None and bool(self.default_scorers or scorers)
        if grouped:
            # promptfoo: the test passes when the weighted mean of its assertions' scores
            # (defaultTest's first) reaches the threshold, whatever each one's verdict
            scorers = [
                {
                    "type": "assert-set",
                    "threshold": _threshold(threshold, test, data),
                    "value": _unique([*self.default_scorers, *scorers]),
                }
            ]
        counted = AssertionCount(
            self.report.assertions - before[0],
            self.report.assertions_mapped - before[1],
            tuple(self.report.notes[before[2] :]),
        )
        metadata = {**self.default_metadata, **(plain(data.get("metadata")) or {})}
        if data.get("description"):
            metadata["description"] = str(data["description"])
        chosen = {
            key: plain(data[key]) if data.get(key) is not None else self.default_filters.get(key)
            for key in ("providers", "prompts")
        }
        spec = None
        own = _own_provider(data.get("provider")) if data.get("providers") is None else None
        if own:
            # the test's own provider: when it is one of the config's, the case runs with it
            spec = FilterSpec(
                own, _names(chosen["prompts"]), test.file,
                line_of(data, "provider") or test.line, own_provider=True,
            )  # fmt: skip
        elif chosen["providers"] is not None or chosen["prompts"] is not None:
            spec = FilterSpec(
                _names(chosen["providers"]),
                _names(chosen["prompts"]),
                test.file,
                line_of(data, "providers") or line_of(data, "prompts") or test.line,
            )
        expand = not (isinstance(options, dict) and options.get("disableVarExpansion") is True)
        for combination in _combinations(loaded_vars) if expand else [loaded_vars]:
            self.count += 1
            case: dict[str, Any] = {"id": f"test-{self.count}", "vars": combination}
            if metadata:
                case["metadata"] = metadata
            if scorers:
                case["scorers"] = _unique(scorers)
            if grouped:
                self.thresholded.add(case["id"])
            if spec is not None:
                self.filters[case["id"]] = spec
                self.counted[case["id"]] = counted
            yield case

    def spread_defaults(self, suite: dict[str, Any], cases: list[dict[str, Any]]) -> None:
        """When a case weighs defaultTest's assertions in its threshold's set, they leave
        the suite's scorers and go into every other case's own."""
        if not (self.thresholded and self.default_scorers):
            return
        suite.pop("scorers", None)
        for case in cases:
            if case["id"] not in self.thresholded:
                case["scorers"] = [*self.default_scorers, *case.get("scorers", [])]

    def _var_value(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self._var_value(v, where) for v in value]
        if not is_file_ref(value):
            return value
        paths = resolve_refs(value, self.base_dir, where)
        loaded: list[Any] = []
        for path in paths:
            suffix = path.suffix.lower()
            if suffix in _CODE:
                raise SuiteError(
                    f"var {value!r} is computed by code; evalbook does not run it (write the"
                    " value into the test)",
                    location=where,
                )
            if suffix in _IMAGES:
                loaded.append(base64.b64encode(path.read_bytes()).decode("ascii"))
            else:
                loaded.append(read_text(path, where))
        return loaded[0] if len(paths) == 1 and not any(c in value for c in "*?[") else loaded

    def _note_unmapped(self, data: dict[str, Any], test: RawTest) -> None:
        for key in data:
            if key not in _TEST_KEYS:
                self.report.note(
                    test.file,
                    line_of(data, key) or test.line,
                    f"tests.{key}",
                    "unknown test field, not imported",
                )
        for column in data.get("_unknown", []):
            self.report.note(test.file, test.line, column, "unknown CSV column, not imported")
        options = data.get("options")
        if options is not None and not isinstance(options, dict):
            self.report.note(
                test.file,
                line_of(data, "options") or test.line,
                "options",
                "must be a mapping (provider, transform, …); not applied",
            )
        if isinstance(options, dict):
            for key in options:
                line = line_of(options, key) or test.line
                if key == "postprocess":
                    self.report.note(
                        test.file, line, "options.postprocess",
                        "promptfoo's older name of transform: mapped as the transform"
                        + (" (options.transform is given too and wins)"
                           if options.get("transform") is not None else ""),
                        mapped=True,
                    )  # fmt: skip
                elif key not in OPTIONS:
                    reason = UNSUPPORTED_OPTIONS.get(
                        key, "test option with no evalbook equivalent, not applied"
                    )
                    self.report.note(test.file, line, f"options.{key}", reason)
        if data.get("provider") is not None and (
            data.get("providers") is not None or not _own_provider(data.get("provider"))
        ):
            self.report.note(
                test.file,
                line_of(data, "provider") or test.line,
                "tests.provider",
                "a test's own provider is not imported: the case runs with the suite's"
                " models (give it a models: entry and a case_filters: line)",
            )


def _threshold(value: Any, test: RawTest, data: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SuiteError(
            f"threshold: must be a number, not {plain(value)!r}",
            location=f"{test.file}:{line_of(data, 'threshold') or test.line}",
        ) from None


def _own_provider(value: Any) -> list[str]:
    """A test's own ``provider:`` (an id, or ``{id, label}``) as the names that find it
    among the config's providers (empty: nothing to find it by)."""
    data = plain(value)
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [str(data[k]) for k in ("label", "id") if isinstance(data.get(k), str)]
    return []


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _combinations(variables: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination of the list-valued vars (promptfoo's expansion)."""
    keys = [k for k, v in variables.items() if isinstance(v, list)]
    if not keys:
        yield dict(variables)
        return
    for values in itertools.product(*(variables[k] for k in keys)):
        yield {**variables, **dict(zip(keys, values, strict=True))}


def _unique(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identical specs once (a case's scorer ids must differ)."""
    import json

    seen: set[str] = set()
    out = []
    for spec in specs:
        key = json.dumps(spec, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(spec)
    return out
