"""lm-evaluation-harness task YAML (with local data) → an evalbook suite.

Tasks whose data is a local file are imported: ``dataset_path: json`` (or ``csv``) with
``dataset_kwargs.data_files`` (a path, a list, or ``{split: path}``), relative to the
task file. ``doc_to_text`` (Jinja, or a column name) becomes the prompt, with the task's
``description`` in front and ``num_fewshot`` examples from the ``fewshot_split`` (else the
training split) as lm-eval lays them out; ``doc_to_target`` is rendered per document into
the case's ``expected``; ``doc_to_choice`` into its ``choices``.

``output_type: generate_until`` is scored by each ``metric_list`` metric once per
``filter_list`` pipeline (``regex`` → an extractor, ``take_first`` as is,
``remove_whitespace`` → strip): ``exact_match`` → ``equals`` (``ignore_case`` kept;
``ignore_punctuation`` → SQuAD's ``exact-match``). ``output_type: multiple_choice`` is
scored generatively: the prompt lists the lettered choices (unless ``doc_to_text``
already shows them) and ``choice`` reads the letter the model picks — lm-eval compares
log-likelihoods instead, which chat APIs do not return. ``!function`` hooks, other
output types, metrics and filters are noted and not mapped.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalbook.core.templating import render_string
from evalbook.errors import EvalbookError, SuiteError
from evalbook.importers._files import Row, line_of, read_rows, read_text
from evalbook.importers._model import ImportedSuite, ImportOptions, ImportReport
from evalbook.importers._registry import Importer
from evalbook.importers._specs import suite_slug, unsupported_spec
from evalbook.importers._templates import as_sent
from evalbook.suites.yaml_lines import LineDict, parse_yaml, plain

__all__ = ["LM_EVAL", "import_lm_eval", "looks_like_lm_eval"]

_FUNCTION = re.compile(r"!function\s+([\w.]+)")
_FUNCTION_MARK = "!function "
_CHOICE_LIST = (
    "\n{% for c in choices %}"
    "{{ 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[loop.index0] }}. {{ c }}\n"
    "{% endfor %}Answer with the letter."
)


def looks_like_lm_eval(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "task" in data
        and ("doc_to_text" in data or "dataset_path" in data or "output_type" in data)
    )


def import_lm_eval(path: Path, options: ImportOptions) -> ImportedSuite:
    file = str(path)
    data = _task_yaml(path, file)
    origin = _Origin(file)
    _with_includes(data, path, file, (), origin)
    if not isinstance(data, dict) or not isinstance(data.get("task"), str):
        raise SuiteError("an lm-eval task file needs `task: NAME`", location=file)
    report = ImportReport("lm-eval", file)
    task = data["task"]
    for name, where, line in origin.includes:
        report.note(where, line, "include", f"{name} read", mapped=True)
    if "group" in data:
        report.note(
            origin.of("group"), line_of(data, "group"), "group", "task groups are not followed"
        )
    for key in ("doc_to_text", "doc_to_target", "doc_to_choice", "process_docs"):
        value = data.get(key)
        if isinstance(value, str) and value.startswith(_FUNCTION_MARK):
            raise SuiteError(
                f"{key}: {value!r} is Python code; evalbook does not run it (write it as a"
                " Jinja template)",
                location=origin.at(data, key),
            )
    docs = _documents(data, path, origin, "test")
    output_type = data.get("output_type", "generate_until")
    if output_type not in ("generate_until", "multiple_choice"):
        raise SuiteError(
            f"output_type {output_type!r} is not imported (generate_until, multiple_choice)",
            location=origin.at(data, "output_type"),
        )
    doc_to_text = _template(data.get("doc_to_text", "{{ text }}"))
    shots = _few_shot(data, path, origin, report)
    prompt = plain(data.get("description") or "") + shots + doc_to_text
    cases: list[dict[str, Any]] = []
    for number, row in enumerate(docs):
        cases.append(_case(task, number, row, data, output_type))
    suite: dict[str, Any] = {"id": suite_slug(task, "lm-eval-task"), "name": task}
    if output_type == "multiple_choice":
        first = cases[0]
        shown = render_string(prompt, first["vars"]) if "vars" in first else ""
        if not all(str(c) in shown for c in first.get("choices", [])):
            prompt += _CHOICE_LIST
        suite["scorers"] = _choice_scorers(data, origin.of("metric_list"), report)
    else:
        suite["scorers"] = _generation_scorers(data, origin, report)
    suite["prompt"] = prompt
    model = _model(data, options, origin.of("generation_kwargs"), report)
    if model is not None:
        suite["model"] = model
    suite["cases"] = cases
    report.cases = len(cases)
    header = [f"lm-eval task {task!r} ({output_type}), {len(cases)} documents"]
    return ImportedSuite(suite, report, path.parent, header)


def _task_yaml(path: Path, where: str) -> Any:
    # ``!function module.fn`` tags run code: read them as marked strings, never call them
    text = _FUNCTION.sub(lambda m: f'"{_FUNCTION_MARK}{m.group(1)}"', read_text(path, where))
    return parse_yaml(text, str(path))


@dataclass
class _Origin:
    """Which file each top-level key of a task was read from: the task file, or the file
    an ``include:`` read it from, so that an error or a note names the file it is in."""

    file: str
    files: dict[str, str] = field(default_factory=dict)
    #: Each include read: (its name, the file naming it, the line there).
    includes: list[tuple[str, str, int | None]] = field(default_factory=list)

    def of(self, key: str) -> str:
        return self.files.get(key, self.file)

    def at(self, data: Any, key: str) -> str:
        line = line_of(data, key)
        return f"{self.of(key)}:{line}" if line else self.of(key)


def _with_includes(
    data: Any, path: Path, where: str, seen: tuple[Path, ...], origin: _Origin
) -> dict[str, str]:
    """lm-eval's ``include: FILE`` (beside the task file): the included file's keys,
    then its own includes', fill in what ``data`` does not set, keeping their lines; the
    file each key came from is returned (and recorded in ``origin``). A missing file or a
    cycle is an error naming the line."""
    if not isinstance(data, dict) or not isinstance(data.get("include"), str):
        return {}
    name = data.pop("include")
    target = path.parent / name
    line = line_of(data, "include")
    at = f"{where}:{line or ''}".rstrip(":")
    if target.resolve() in seen or target.resolve() == path.resolve():
        raise SuiteError(f"include: {name!r} includes itself", location=at)
    if not target.is_file():
        raise SuiteError(f"include: {name!r}: no such file ({target})", location=at)
    origin.includes.append((name, where, line))
    base = _task_yaml(target, at)
    deeper = _with_includes(base, target, str(target), (*seen, path.resolve()), origin)
    files: dict[str, str] = {}
    if isinstance(base, dict):
        for key, value in base.items():
            if key in data:
                continue
            data[key] = value
            files[key] = deeper.get(key, str(target))
            base_line = line_of(base, key)
            if isinstance(data, LineDict):
                if base_line is not None:
                    data.key_lines[key] = base_line
                else:
                    data.key_lines.pop(key, None)
    if where == origin.file:
        origin.files.update(files)
    return files


def _documents(data: dict[str, Any], path: Path, origin: _Origin, default_split: str) -> list[Row]:
    split = data.get("test_split") or data.get("validation_split") or default_split
    return _split_rows(data, path, origin, str(split), required=True) or []


def _split_rows(
    data: dict[str, Any], path: Path, origin: _Origin, split: str, *, required: bool
) -> list[Row] | None:
    where = origin.at(data, "dataset_path") if "dataset_path" in data else origin.file
    kind = data.get("dataset_path")
    if kind not in ("json", "csv"):
        raise SuiteError(
            f"dataset_path {kind!r}: only local data (json or csv with"
            " dataset_kwargs.data_files) is imported; download the dataset to a file",
            location=where,
        )
    if "dataset_kwargs" in data:
        where = origin.at(data, "dataset_kwargs")
    files = (data.get("dataset_kwargs") or {}).get("data_files")
    if isinstance(files, dict):
        chosen = files.get(split)
        if chosen is None:
            if not required:
                return None
            raise SuiteError(
                f"data_files has no split {split!r} (has: {', '.join(files)})", location=where
            )
    else:
        chosen = files
    if chosen is None:
        raise SuiteError("dataset_kwargs.data_files is missing", location=where)
    rows: list[Row] = []
    for name in chosen if isinstance(chosen, list) else [chosen]:
        target = path.parent / str(name)
        if not target.is_file():
            raise SuiteError(f"data file {name!r} not found ({target})", location=where)
        rows.extend(read_rows(target, where))
    return rows


def _case(
    task: str, number: int, row: Row, data: dict[str, Any], output_type: str
) -> dict[str, Any]:
    where = f"{row.file}:{row.line}"
    doc = row.data
    if not isinstance(doc, dict):
        raise SuiteError("a document must be an object of fields", location=where)
    case: dict[str, Any] = {"id": f"{task}-{number}", "vars": doc}
    choices = None
    if "doc_to_choice" in data:
        choices = _choices(data["doc_to_choice"], doc, where)
        case["choices"] = choices
    target = _target(data.get("doc_to_target"), doc, where)
    if output_type == "multiple_choice":
        if choices is None:
            raise SuiteError("a multiple_choice task needs doc_to_choice", location=where)
        index = _choice_index(target, choices, where)
        case["expected"] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]
    elif target is not None:
        case["expected"] = str(target)
    return case


def _template(value: Any) -> str:
    """``doc_to_text``/``doc_to_target``: Jinja, or a bare column name."""
    text = str(value)
    if "{{" in text or "{%" in text:
        return text
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return "{{ " + text + " }}"
    return as_sent(text)


def _render(value: Any, doc: dict[str, Any], where: str, what: str) -> str:
    try:
        return render_string(_template(value), doc)
    except EvalbookError as exc:
        raise SuiteError(f"{what}: {exc}", location=where) from exc


def _target(value: Any, doc: dict[str, Any], where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _render(value, doc, where, "doc_to_target")


def _choices(value: Any, doc: dict[str, Any], where: str) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) and value in doc:
        raw = doc[value]
        if isinstance(raw, list):
            return [str(v) for v in raw]
    text = _render(value, doc, where, "doc_to_choice")
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        parsed = None
    if not isinstance(parsed, list | tuple):
        raise SuiteError(f"doc_to_choice gave {text!r}, not a list", location=where)
    return [str(v) for v in parsed]


def _choice_index(target: Any, choices: list[str], where: str) -> int:
    if isinstance(target, str) and target.strip().lstrip("-").isdigit():
        target = int(target.strip())
    if isinstance(target, int) and 0 <= target < len(choices):
        return target
    if isinstance(target, str) and target in choices:
        return choices.index(target)
    raise SuiteError(
        f"doc_to_target {target!r} names none of the choices {choices}", location=where
    )


def _few_shot(data: dict[str, Any], path: Path, origin: _Origin, report: ImportReport) -> str:
    count = int(data.get("num_fewshot") or 0)
    if count <= 0:
        return ""
    split = data.get("fewshot_split") or data.get("training_split") or "train"
    rows = _split_rows(data, path, origin, str(split), required=False)
    if not rows:
        report.note(
            origin.of("num_fewshot"),
            line_of(data, "num_fewshot"),
            "num_fewshot",
            f"no {split!r} split to take examples from",
        )
        return ""
    text_delim = str(data.get("target_delimiter", " "))
    shot_delim = str(data.get("fewshot_delimiter", "\n\n"))
    parts = []
    for row in rows[:count]:
        where = f"{row.file}:{row.line}"
        question = _render(data.get("doc_to_text", "{{ text }}"), row.data, where, "doc_to_text")
        target = _target(data.get("doc_to_target"), row.data, where)
        if "doc_to_choice" in data and isinstance(target, int | str):
            choices = _choices(data["doc_to_choice"], row.data, where)
            target = choices[_choice_index(target, choices, where)]
        parts.append(question + text_delim + str(target))
    return as_sent(shot_delim.join(parts) + shot_delim)


def _generation_scorers(data: dict[str, Any], origin: _Origin, report: ImportReport) -> list[Any]:
    metrics = data.get("metric_list") or [{"metric": "exact_match"}]
    pipelines = data.get("filter_list") or [{"name": None, "filter": []}]
    file, filters_file = origin.of("metric_list"), origin.of("filter_list")
    out: list[Any] = []
    for metric in metrics:
        name = metric.get("metric") if isinstance(metric, dict) else str(metric)
        report.assertions += len(pipelines)
        line = line_of(metric) or line_of(data, "metric_list")
        if name != "exact_match":
            report.note(file, line, f"metric {name}", "only exact_match is mapped")
            out.append(_unsupported(f"metric {name}", file, line, "only exact_match is mapped"))
            continue
        for pipeline in pipelines:
            extract, problem = _filters(pipeline.get("filter") or [])
            label = pipeline.get("name")
            if problem is not None:
                at = line_of(pipeline) or line_of(data, "filter_list")
                report.note(filters_file, at, f"filter {label}", problem)
                out.append(_unsupported(f"filter {label}", filters_file, at, problem))
                continue
            spec: dict[str, Any]
            if metric.get("ignore_punctuation"):
                spec = {"type": "exact-match"}
                report.note(
                    file,
                    line,
                    "ignore_punctuation",
                    "SQuAD normalisation (exact-match)",
                    mapped=True,
                )
            else:
                spec = {"type": "equals", "strip": False}
                if metric.get("ignore_case"):
                    spec["case_sensitive"] = False
            if metric.get("regexes_to_ignore"):
                report.note(file, line, "regexes_to_ignore", "not applied", mapped=True)
            if extract:
                spec["extract"] = extract
            spec["name"] = f"exact_match-{label}" if label else "exact_match"
            report.assertions_mapped += 1
            out.append(spec)
    return out


def _filters(steps: list[Any]) -> tuple[list[Any], str | None]:
    extract: list[Any] = []
    for step in steps:
        function = step.get("function") if isinstance(step, dict) else None
        if function == "regex":
            extract.append({"regex": str(step.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"))})
        elif function == "take_first":
            continue
        elif function == "remove_whitespace":
            extract.append("strip")
        else:
            return [], f"filter function {function!r} has no evalbook extractor"
    return extract, None


def _choice_scorers(data: dict[str, Any], file: str, report: ImportReport) -> list[Any]:
    metrics = data.get("metric_list") or [{"metric": "acc"}]
    out: list[Any] = []
    for metric in metrics:
        name = metric.get("metric") if isinstance(metric, dict) else str(metric)
        report.assertions += 1
        if name in ("acc", "acc_norm", "exact_match"):
            report.assertions_mapped += 1
            if not out:
                out.append({"type": "choice", "name": "acc"})
            report.note(
                file, line_of(metric), f"metric {name}",
                "scored generatively (the letter the model picks), not by log-likelihood",
                mapped=True,
            )  # fmt: skip
        else:
            report.note(file, line_of(metric), f"metric {name}", "only acc/acc_norm are mapped")
            out.append(_unsupported(f"metric {name}", file, line_of(metric), "only acc is mapped"))
    return out


def _model(data: dict[str, Any], options: ImportOptions, file: str, report: ImportReport) -> Any:
    kwargs = data.get("generation_kwargs") or {}
    if not options.model:
        if kwargs:
            report.note(
                file, line_of(data, "generation_kwargs"), "generation_kwargs",
                "applied only with --model (until → stop, max_gen_toks → max_tokens)",
                mapped=True,
            )  # fmt: skip
        return None
    model: dict[str, Any] = {"spec": options.model}
    until = kwargs.get("until")
    if until:
        model["stop"] = [until] if isinstance(until, str) else list(until)
    if kwargs.get("max_gen_toks"):
        model["max_tokens"] = int(kwargs["max_gen_toks"])
    if "temperature" in kwargs:
        model["temperature"] = float(kwargs["temperature"])
    return model


def _unsupported(feature: str, file: str, line: int | None, reason: str) -> dict[str, Any]:
    return unsupported_spec("lm-eval", feature, feature.replace(" ", "-"), file, line, reason)


LM_EVAL = Importer(
    name="lm-eval",
    description="lm-evaluation-harness task YAML with local data (dataset_path: json/csv)",
    load=import_lm_eval,
    sniff=looks_like_lm_eval,
)
