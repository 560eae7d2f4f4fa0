"""OpenAI evals registry entries → evalbook suites.

``evalbook import openai-evals REGISTRY/evals/NAME.yaml`` reads the eval (``NAME: {id:
NAME.dev.v0}``) and its spec (``NAME.dev.v0: {class: …, args: {samples_jsonl: …}}``),
and the samples from ``REGISTRY/data/`` as the upstream registry lays it out. Each
sample's ``input`` (a chat, or a string) becomes the case's messages, its ``ideal`` (a
string or a list: any of them) the case's ``expected``. The class decides the scorer:

- ``evals.elsuite.basic.match:Match`` → ``starts-with`` (the output starts with an ideal);
- ``…includes:Includes`` → ``contains`` an ideal (``ignore_case`` kept);
- ``…fuzzy_match:FuzzyMatch`` → ``exact-match`` with ``either_contains``;
- ``…json_match:JsonMatch`` → ``json-path`` at ``$`` equal to the ideal JSON;
- ``…modelgraded.classify:ModelBasedClassify`` with ``modelgraded_spec: fact`` or
  ``closedqa`` → ``llm-judge``; other specs and classes are kept as ``unsupported``.

Few-shot samples (``few_shot_jsonl``, ``num_few_shot``) are put before each sample's
last message as user/assistant turns, as the Match eval does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.importers._files import Row, line_of, read_rows, read_text
from evalbook.importers._model import ImportedSuite, ImportOptions, ImportReport
from evalbook.importers._registry import Importer
from evalbook.importers._specs import suite_slug, unsupported_spec
from evalbook.importers._templates import as_sent
from evalbook.suites.yaml_lines import parse_yaml

__all__ = ["OPENAI_EVALS", "import_openai_evals", "looks_like_openai_evals"]

DEFAULT_GRADER = "openai:gpt-4.1-mini"
_ROLES = {"system", "user", "assistant"}


def looks_like_openai_evals(data: Any) -> bool:
    """A registry file: entries whose values hold an ``id`` naming another entry, or a
    ``class`` of the evals package."""
    if not isinstance(data, dict) or not data:
        return False
    values = [v for v in data.values() if isinstance(v, dict)]
    return bool(values) and any(
        (isinstance(v.get("id"), str) and v["id"] in data)
        or (isinstance(v.get("class"), str) and v["class"].startswith("evals."))
        for v in values
    )


def import_openai_evals(path: Path, options: ImportOptions) -> ImportedSuite:
    file = str(path)
    data = parse_yaml(read_text(path, file), file)
    if not isinstance(data, dict):
        raise SuiteError("an OpenAI evals registry file must be a mapping of evals", location=file)
    report = ImportReport("openai-evals", file)
    name, eval_id = _pick_eval(data, path, report)
    spec = data.get(eval_id)
    if not isinstance(spec, dict):
        raise SuiteError(
            f"eval {name!r} names spec {eval_id!r}, which this file does not define",
            location=f"{file}:{line_of(data.get(name), 'id') or line_of(data, name)}",
        )
    spec_line = line_of(data, eval_id)
    cls = spec.get("class")
    args = spec.get("args") or {}
    if not isinstance(cls, str) or not isinstance(args, dict):
        raise SuiteError(
            f"{eval_id}: needs 'class' (e.g. evals.elsuite.basic.match:Match) and 'args'",
            location=f"{file}:{spec_line}",
        )
    where = f"{file}:{line_of(args, 'samples_jsonl') or spec_line}"
    samples_ref = args.get("samples_jsonl")
    if not isinstance(samples_ref, str):
        raise SuiteError(f"{eval_id}: args.samples_jsonl is missing", location=where)
    samples = read_rows(_data_file(samples_ref, path, where), where)
    few_shot: list[dict[str, Any]] = []
    if args.get("few_shot_jsonl") and int(args.get("num_few_shot") or 0) > 0:
        shot_where = f"{file}:{line_of(args, 'few_shot_jsonl') or spec_line}"
        shots = read_rows(_data_file(str(args["few_shot_jsonl"]), path, shot_where), shot_where)
        for row in shots[: int(args["num_few_shot"])]:
            messages, ideal = _sample(row)
            answer = ideal[0] if isinstance(ideal, list) else ideal
            few_shot += [messages[-1], {"role": "assistant", "content": as_sent(str(answer))}]

    scorers, per_case = _scorers(cls, args, file, spec_line, report, options)
    found = data.get(name)
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    suite: dict[str, Any] = {"id": suite_slug(eval_id, "openai-eval"), "name": eval_id}
    if meta.get("description"):
        suite["description"] = str(meta["description"])
    if options.model:
        suite["model"] = options.model
    if scorers:
        suite["scorers"] = scorers
    cases: list[dict[str, Any]] = []
    for number, row in enumerate(samples, start=1):
        messages, ideal = _sample(row)
        if few_shot:
            messages = [*messages[:-1], *few_shot, messages[-1]]
        case: dict[str, Any] = {"id": f"{eval_id}.{number - 1}", "messages": messages}
        if ideal is not None:
            case["expected"] = ideal
        own = per_case(ideal, row) if per_case is not None else None
        if own:
            case["scorers"] = own
        extra = {k: v for k, v in row.data.items() if k not in ("input", "ideal")}
        if extra:
            case["metadata"] = extra
        cases.append(case)
    suite["cases"] = cases
    header = [
        f"OpenAI evals eval {name!r} → {eval_id} ({cls})",
        "OpenAI evals report accuracy and have no pass threshold: the suite's threshold is"
        " the default (1.0); set `threshold:` to gate on accuracy.",
    ]
    return ImportedSuite(suite, report, path.parent, header)


def _pick_eval(data: dict[str, Any], path: Path, report: ImportReport) -> tuple[str, str]:
    evals = [k for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("id"), str)]
    if not evals:
        raise SuiteError(
            "no eval in this file (an entry such as `NAME: {id: NAME.dev.v0}`)", location=str(path)
        )
    name = path.stem if path.stem in evals else evals[0]
    for other in evals:
        if other != name:
            report.note(
                str(path), line_of(data, other), f"eval {other}",
                f"this file defines several evals; {name!r} was imported",
            )  # fmt: skip
    return name, str(data[name]["id"])


def _data_file(ref: str, path: Path, where: str) -> Path:
    """``samples_jsonl`` as the registry resolves it: under ``REGISTRY/data/``."""
    candidates = [path.parent.parent / "data" / ref, path.parent / ref, Path(ref)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates[:2])
    raise SuiteError(f"samples file {ref!r} not found (looked in {tried})", location=where)


def _sample(row: Row) -> tuple[list[dict[str, Any]], Any]:
    where = f"{row.file}:{row.line}"
    data = row.data
    if not isinstance(data, dict) or "input" not in data:
        raise SuiteError("a sample needs 'input' (a chat or a string)", location=where)
    raw_input, ideal = data["input"], data.get("ideal")
    if isinstance(raw_input, str):
        messages = [{"role": "user", "content": as_sent(raw_input)}]
    elif isinstance(raw_input, list) and raw_input:
        messages = []
        for i, message in enumerate(raw_input):
            if not isinstance(message, dict) or not isinstance(message.get("content"), str):
                raise SuiteError(
                    f"input[{i}]: a message needs text 'content' and a 'role'", location=where
                )
            role = message.get("role")
            name = message.get("name")
            if role == "system" and name in ("example_user", "example_assistant"):
                role = "user" if name == "example_user" else "assistant"
            if role not in _ROLES:
                raise SuiteError(
                    f"input[{i}].role: {role!r} is not system, user or assistant", location=where
                )
            messages.append({"role": role, "content": as_sent(message["content"])})
    else:
        raise SuiteError("input: must be a chat (a list of messages) or a string", location=where)
    if ideal is not None and not isinstance(ideal, str | list):
        ideal = json.dumps(ideal)
    if isinstance(ideal, list):
        ideal = [i if isinstance(i, str) else json.dumps(i) for i in ideal]
    return messages, ideal


def _scorers(
    cls: str, args: dict[str, Any], file: str, line: int | None, report: ImportReport,
    options: ImportOptions,
) -> tuple[list[dict[str, Any]], Any]:  # fmt: skip
    """The suite's scorers, and a function giving a case its own (or None)."""
    short = cls.rsplit(":", 1)[-1]
    report.assertions += 1
    if short == "Match":
        report.assertions_mapped += 1
        return [{"type": "starts-with", "strip": False}], None
    if short == "Includes":
        report.assertions_mapped += 1
        sensitive = not bool(args.get("ignore_case", False))

        def includes(ideal: Any, row: Row) -> list[dict[str, Any]]:
            needles = ideal if isinstance(ideal, list) else [ideal]
            spec: dict[str, Any] = {"type": "contains", "value": needles, "mode": "any"}
            if not sensitive:
                spec["case_sensitive"] = False
            return [spec]

        return [], includes
    if short == "FuzzyMatch":
        report.assertions_mapped += 1
        return [{"type": "exact-match", "either_contains": True}], None
    if short == "JsonMatch":
        report.assertions_mapped += 1

        def json_match(ideal: Any, row: Row) -> list[dict[str, Any]]:
            ideals = ideal if isinstance(ideal, list) else [ideal]
            if len(ideals) != 1:
                return [
                    _unsupported(
                        cls, file, line, "several JSON ideals (any of them) cannot be expressed"
                    )
                ]
            try:
                value = json.loads(ideals[0])
            except (TypeError, json.JSONDecodeError) as exc:
                raise SuiteError(
                    f"ideal is not JSON: {exc}", location=f"{row.file}:{row.line}"
                ) from exc
            return [{"type": "json-path", "path": "$", "value": value}]

        return [], json_match
    if short == "ModelBasedClassify":
        graded = _model_graded(args, options)
        if graded is not None:
            report.assertions_mapped += 1
            report.note(
                file, line, "modelgraded", "graded by evalbook's llm-judge rubric, not the"
                " eval's own classification prompt", mapped=True,
            )  # fmt: skip
            return [graded], None
        reason = f"model-graded spec {args.get('modelgraded_spec')!r} has no evalbook equivalent"
        if args.get("modelgraded_spec") == "closedqa":
            reason = "closedqa without modelgraded_spec_args.criteria: no criterion to grade by"
    else:
        reason = f"eval class {cls} has no evalbook equivalent"
    report.note(file, line, cls, reason)
    return [_unsupported(cls, file, line, reason)], None


def _model_graded(args: dict[str, Any], options: ImportOptions) -> dict[str, Any] | None:
    judge: Any = DEFAULT_GRADER
    if options.base_url:
        judge = {
            "provider": "openai-compatible",
            "name": "gpt-4.1-mini",
            "base_url": options.base_url,
        }
    which = args.get("modelgraded_spec")
    if which == "fact":
        return {
            "type": "llm-judge",
            "judge": judge,
            "criteria": [
                {
                    "name": "fact",
                    "description": "The output is factually consistent with the expert answer"
                    " (it may be a subset or superset of it, but must not contradict it).",
                    "scale": [0, 1],
                    "reference": True,
                }
            ],
        }
    if which == "closedqa":
        criteria = (args.get("modelgraded_spec_args") or {}).get("criteria") or {}
        if isinstance(criteria, str) and criteria.strip():
            # the registry's usual form: "conciseness: Does the title describe …?"
            head, sep, rest = criteria.partition(":")
            simple = sep and head.strip() and " " not in head.strip()
            criteria = {head.strip(): rest.strip()} if simple else {"criterion": criteria.strip()}
        if not isinstance(criteria, dict) or not criteria:
            return None
        name, text = next(iter(criteria.items()))
        return {
            "type": "llm-judge",
            "judge": judge,
            "criteria": [{"name": str(name), "description": str(text), "scale": [0, 1]}],
        }
    return None


def _unsupported(cls: str, file: str, line: int | None, reason: str) -> dict[str, Any]:
    return unsupported_spec("openai-evals", cls, cls.rsplit(":", 1)[-1], file, line, reason)


OPENAI_EVALS = Importer(
    name="openai-evals",
    description="OpenAI evals registry YAML (evals/NAME.yaml) with its JSONL samples",
    load=import_openai_evals,
    sniff=looks_like_openai_evals,
)
