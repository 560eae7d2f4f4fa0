"""Load a suite file (YAML) into a :class:`~evalbook.core.suite.Suite`.

The file format (the JSON Schema is :func:`evalbook.suites.suite_json_schema`; the guide
is ``docs/suites.md``)::

    id: quickstart            # required, [a-z0-9_.-]+
    name: Quickstart          # default: id
    description: ...
    version: "1"              # str or int, stored as str
    threshold: 0.6            # 0..1: pass threshold of the run score (default 1.0)
    model: local:smollm2-135m # spec string | {provider, name, temperature, ...} | {spec, ...}
    models: [openai:gpt-4o-mini, {label: big, spec: "openai:gpt-4o"}]  # a matrix to run
    prompt_versions: [1, 2]   # with models: every combination is a run of one experiment
    prompt: "Q: {{ question }}"        # one user message; prompt name = suite id, version 1
    # or  prompt: {name: qa, system: "...", messages: [{role: user, content: "..."}]}
    # or  prompt: {name: qa, versions: {1: {system: "...", messages: [...]}, 2: {template: "..."}}}
    scorers: ["non-empty", {contains: "{{ expected }}"}]     # defaults for every case
    kinds: {name: {system: ..., messages: [...], scorers: [...], tier: standard}}
    render_assertions: [{type: not-contains, value: TODO}]  # on the rendered prompt
    tags: [smoke]
    cases:
      - id: add-1             # optional: "c-" + hash of vars/messages/expected
        vars: {question: "What is 2+3?"}
        expected: "5"         # any JSON value
        choices: [...]
        section: arithmetic
        tags: [math]
        metadata: {...}
        messages: [...]       # instead of the prompt's messages (templated with vars too)
        assets: [{path: img/cat.png}]   # or {data: <base64>, media_type: image/png}
        scorers: [...]        # extra scorers for this case
      - file: more_cases.jsonl          # JSONL / CSV beside the suite (+ section, tags)

Parsing keeps ``yaml.safe_load`` semantics (no code-running tags) but remembers lines,
and the whole file is checked before anything is raised: one :class:`SuiteError` lists
every problem as ``file:line: field.path: message``. Scorers are built and checked
against every case here, so a typo fails the load rather than the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalbook.core.heap import collector_paused
from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import (
    Case,
    CaseFilter,
    CaseList,
    DerivedMetric,
    MatrixModel,
    Prompt,
    PromptVersion,
    ScorerSpec,
    Suite,
)
from evalbook.errors import SuiteError
from evalbook.suites.cases import BuiltCase, expand_cases, iter_cases
from evalbook.suites.datasets import case_from_row
from evalbook.suites.kinds import build_kinds, with_kinds
from evalbook.suites.matrix_spec import (
    build_case_filters,
    build_derived_metrics,
    build_models,
    build_prompt_versions,
)
from evalbook.suites.model_spec import build_model
from evalbook.suites.problems import Problems, Where, not_unicode
from evalbook.suites.prompt_spec import build_prompt
from evalbook.suites.scorer_specs import ScorerBuilder, parse_specs
from evalbook.suites.yaml_lines import parse_yaml, plain

__all__ = [
    "SUITE_KEYS",
    "load_suite",
    "load_suite_from_dict",
    "load_suite_from_text",
    "suite_from_cases",
]

SUITE_KEYS = frozenset(
    {
        "id", "name", "description", "version", "threshold", "model", "prompt",
        "scorers", "render_assertions", "tags", "cases", "kinds", "models",
        "prompt_versions", "case_filters", "derived_metrics",
    }
)  # fmt: skip
SUITE_ID = re.compile(r"^[a-z0-9_.-]+$")
_HEADER = ("name", "description", "threshold", "tags")


def load_suite(
    path: str | Path,
    *,
    on_head: Callable[[Suite], None] | None = None,
    on_case: Callable[[Case], None] | None = None,
) -> Suite:
    """Read, validate and build the suite at ``path``; every problem in one SuiteError.

    ``on_head`` sees the suite without its cases once everything but the cases is
    built and valid, when the cases include a dataset file (not called otherwise, nor
    when the head has problems); ``on_case`` then sees each
    case as it is accepted, in order, while no problem has been found (a run may start
    on them before the last dataset row is read: see ``executor/streamed.py``)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read suite file: {exc}", location=source) from exc
    data = parse_yaml(text, source)
    if data is None:
        raise SuiteError("the suite file is empty", location=source)
    return _build(data, path.parent, source, on_head, on_case)


def load_suite_from_dict(
    data: Mapping[str, Any], *, base_dir: Path | None = None, source: str = "<dict>"
) -> Suite:
    """Build a suite from the file's structure (Python API, REST API).

    ``base_dir`` resolves dataset includes and image paths; without it they are refused,
    so a suite posted over HTTP cannot read the server's files.
    """
    copied = plain(dict(data)) if isinstance(data, Mapping) else data  # later edits stay out
    return _build(copied, base_dir, source)


def load_suite_from_text(
    text: str,
    *,
    source: str = "<text>",
    inspect: Callable[[Any], None] | None = None,
    base_dir: Path | None = None,
) -> Suite:
    """A suite from YAML (or JSON) text: problems name ``source:line``. With no
    ``base_dir`` (the REST API) dataset includes and image paths are refused. ``inspect``
    sees the parsed structure before anything is built (the API refuses some scorers
    before building would import them)."""
    data = parse_yaml(text, source)
    if data is None:
        raise SuiteError("the suite is empty", location=source)
    if inspect is not None:
        inspect(plain(data))
    return _build(data, base_dir, source)


def suite_from_cases(
    suite_id: str,
    cases: Sequence[Mapping[str, Any]],
    *,
    prompt: str | Mapping[str, Any] | None = None,
    scorers: Sequence[str | Mapping[str, Any]] = (),
    **fields: Any,
) -> Suite:
    """A suite from rows such as an API ``inputSet``: a row with ``vars`` / ``messages``
    is a full case, any other row is flat (its non-case keys are the variables)."""
    data: dict[str, Any] = {"id": suite_id, **fields, "scorers": list(scorers)}
    data["cases"] = [case_from_row(dict(row)) for row in cases]
    if prompt is not None:
        data["prompt"] = prompt
    return load_suite_from_dict(data, source=f"<suite {suite_id}>")


def _build(
    data: Any,
    base_dir: Path | None,
    source: str,
    on_head: Callable[[Suite], None] | None = None,
    on_case: Callable[[Case], None] | None = None,
) -> Suite:
    with collector_paused():  # a big suite is millions of objects that all stay alive
        return _build_suite(data, base_dir, source, on_head, on_case)


def _build_suite(
    data: Any,
    base_dir: Path | None,
    source: str,
    on_head: Callable[[Suite], None] | None = None,
    on_case: Callable[[Case], None] | None = None,
) -> Suite:
    if not isinstance(data, dict):
        line = getattr(data, "line", None)
        raise SuiteError(
            "a suite must be a mapping of fields (id, prompt, cases, ...), not"
            f" {'a list' if isinstance(data, list) else type(data).__name__}",
            location=f"{source}:{line}" if line else source,
        )
    problems = Problems(source)
    top = Where(source, data)
    problems.check_keys(top, data, SUITE_KEYS)
    suite_id = _suite_id(data, top, problems)
    header = _header(data, top, problems)
    prompt = build_prompt(data.get("prompt"), top.child("prompt"), suite_id or "prompt", problems)
    model = build_model(data.get("model"), top.child("model"), problems)
    versions = build_prompt_versions(
        data.get("prompt_versions"), top.child("prompt_versions"), prompt, problems
    )
    all_versions = versions or ([v.version for v in prompt.versions] if prompt else [])
    models = build_models(
        data.get("models"), top.child("models"), problems, all_versions if prompt else None
    )
    case_filters = build_case_filters(
        data.get("case_filters"), top.child("case_filters"), [m.label for m in models],
        all_versions, problems,
    )  # fmt: skip
    derived = build_derived_metrics(
        data.get("derived_metrics"), top.child("derived_metrics"), problems
    )
    scorer_specs, _ = parse_specs(data.get("scorers"), top, ("scorers",), problems)
    render_specs, _ = parse_specs(
        data.get("render_assertions"), top, ("render_assertions",), problems
    )
    own_kinds = build_kinds(data.get("kinds"), top.child("kinds"), problems)
    builder = ScorerBuilder(problems)
    shared = [
        *builder.build(scorer_specs, top, ("scorers",)),
        *builder.build(render_specs, top, ("render_assertions",)),
    ]
    if (
        on_head is not None
        and not problems
        and prompt is not None
        and suite_id is not None
        and _includes_dataset(data.get("cases"))
    ):
        on_head(
            _suite(header, suite_id, prompt, model, models, versions, case_filters, derived,
                   scorer_specs, render_specs, [], source)
        )  # fmt: skip
    sources = expand_cases(data.get("cases"), top.child("cases"), base_dir, problems)
    cases = CaseList()
    # One case at a time: built, checked, kept (a dataset row as its canonical JSON).
    for one in iter_cases(with_kinds(sources, own_kinds, problems), problems):
        own = builder.build(one.case.scorers, one.where, ("scorers",), case_id=one.case.id)
        builder.check(one.case, [*shared, *own], one.where)
        if prompt is not None:
            _check_something_to_send(prompt, one, problems)
        if problems:
            continue  # the load fails: keep nothing more
        try:
            cases.append(one.case, compact=one.from_file, from_row=one.from_file)
        except UnicodeEncodeError as exc:
            problems.add(one.where, not_unicode(exc))
            continue
        if on_case is not None:
            on_case(one.case)
    if case_filters and not problems:
        known = {c.id for c in cases}
        for case_id in sorted(set(case_filters) - known):
            problems.add(top.child("case_filters"), f"the suite has no case {case_id!r}")
    if not len(cases) and not problems:
        problems.add(top, "a suite needs at least one case", ("cases",))
    problems.raise_if_any()
    if prompt is None or suite_id is None:  # pragma: no cover - a problem was recorded
        raise SuiteError("invalid suite", location=source)
    return _suite(
        header, suite_id, prompt, model, models, versions, case_filters, derived,
        scorer_specs, render_specs, cases, source,
    )  # fmt: skip


def _suite(
    header: dict[str, Any],
    suite_id: str,
    prompt: Prompt,
    model: ModelConfig | None,
    models: list[MatrixModel],
    versions: list[int],
    case_filters: dict[str, CaseFilter],
    derived: list[DerivedMetric],
    scorer_specs: list[ScorerSpec],
    render_specs: list[ScorerSpec],
    cases: Sequence[Case],
    source: str,
) -> Suite:
    return Suite(
        **header,
        id=suite_id,
        prompt=prompt,
        model=model if model is not None or not models else models[0].model,
        models=models,
        prompt_versions=versions,
        case_filters=case_filters,
        derived_metrics=derived,
        scorers=scorer_specs,
        render_assertions=render_specs,
        cases=cases,
        source=source,
    )


def _includes_dataset(raw: Any) -> bool:
    return isinstance(raw, list) and any(isinstance(i, dict) and "file" in i for i in raw)


def _suite_id(data: dict[str, Any], top: Where, problems: Problems) -> str | None:
    suite_id = data.get("id")
    if suite_id is None:
        problems.add(top, "a suite needs an id (lowercase letters, digits, '_', '.', '-')")
        return None
    if not isinstance(suite_id, str) or not SUITE_ID.match(suite_id):
        problems.add(
            top, f"{suite_id!r} is not a suite id: use lowercase letters, digits, '_', '.', '-'",
            ("id",),
        )  # fmt: skip
        return None
    return suite_id


def _header(data: dict[str, Any], top: Where, problems: Problems) -> dict[str, Any]:
    """The scalar fields, validated by the Suite model itself (with a stand-in body)."""
    header: dict[str, Any] = {k: plain(data[k]) for k in _HEADER if k in data}
    version = data.get("version", "1")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    header["version"] = version
    if "name" not in header:
        header["name"] = data.get("id") if isinstance(data.get("id"), str) else "-"
    stand_in = Prompt(name="-", versions=[PromptVersion(version=1, messages=[])])
    try:
        Suite.model_validate({**header, "id": "-", "prompt": stand_in, "cases": []})
    except ValidationError as exc:
        problems.add_validation(top, exc)
    return header


def _check_something_to_send(prompt: Prompt, one: BuiltCase, problems: Problems) -> None:
    empty = [v.version for v in prompt.versions if not v.messages]
    if empty and one.case.messages is None:
        which = "has no prompt" if len(prompt.versions) == 1 else f"version {empty[0]} has"
        problems.add(
            one.where,
            f"case {one.case.id!r} has no messages and the suite {which} no messages:"
            " give the suite a prompt or the case its own messages",
        )
