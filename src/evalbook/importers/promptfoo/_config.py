"""A ``promptfooconfig.yaml`` → an evalbook suite (see ``docs/migrating.md``).

prompts → prompt versions 1…N and ``prompt_versions``; the providers that map → the
suite's labelled ``models:`` (one without a label → its ``model:``), so that running the
import runs every provider × prompt as ``promptfoo eval`` does; tests → cases; defaultTest →
the suite's vars, scorers and grader; assertionTemplates → ``$ref`` targets. Every
top-level field that has no place in a suite is reported, never dropped in silence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.importers._files import is_file_ref, line_of, read_structured, read_text, resolve_refs
from evalbook.importers._model import ImportedSuite, ImportOptions, ImportReport
from evalbook.importers.promptfoo._asserts import DEFAULT_GRADER, AssertMapper
from evalbook.importers.promptfoo._derived import map_derived_metrics
from evalbook.importers.promptfoo._filters import Choice, FilterSpec, resolve_filter
from evalbook.importers.promptfoo._javascript import filter_equivalent
from evalbook.importers.promptfoo._missing import fill_missing_vars
from evalbook.importers.promptfoo._prompts import map_prompts, without_broken_templates
from evalbook.importers.promptfoo._provider_config import note_provider_fields
from evalbook.importers.promptfoo._providers import judge_spec, map_provider, override
from evalbook.importers.promptfoo._scenarios import collect_scenarios
from evalbook.importers.promptfoo._tests import TestMapper, collect_tests, transform_of
from evalbook.suites.yaml_lines import parse_yaml, plain

__all__ = ["import_promptfoo", "looks_like_promptfoo", "suite_id_of"]

_IGNORED = {
    "outputPath": "results are recorded in the evalbook store (export them with `evalbook export`)",
    "sharing": "evalbook results are shared through its own server",
    "evaluateOptions": "set concurrency, epochs and limits on `evalbook run`",
    "commandLineOptions": "give options to `evalbook run`",
    "writeLatestResults": "every run is recorded",
    "env": "providers read their keys from the environment; set them there",
    "$schema": "not needed",
    "tracing": "evalbook does not collect traces",
}
_UNMAPPED = {
    "extensions": "extension hooks run code; evalbook does not run them",
    "redteam": "red-team generation is not imported",
    "metadata": "suite metadata has no place in an evalbook suite",
}
_HANDLED = {
    "nunjucksFilters",
    "description",
    "prompts",
    "providers",
    "targets",
    "tests",
    "scenarios",
    "derivedMetrics",
    "defaultTest",
    "assertionTemplates",
    "tags",
}


def looks_like_promptfoo(data: Any) -> bool:
    """A promptfoo config: what to call (``prompts``/``providers``/``targets``) with what
    to ask (``tests``, ``defaultTest``, ``scenarios``, ``prompts``, or a ``redteam`` block,
    whose own tests are not imported), and no evalbook suite ``id``."""
    return isinstance(data, dict) and (
        ("prompts" in data or "providers" in data or "targets" in data)
        and any(k in data for k in ("tests", "defaultTest", "scenarios", "prompts", "redteam"))
        and "id" not in data
    )


def import_promptfoo(path: Path, options: ImportOptions) -> ImportedSuite:
    file = str(path)
    data = parse_yaml(read_text(path, file), file)
    if not isinstance(data, dict):
        raise SuiteError(
            "a promptfoo config must be a mapping (prompts, providers, tests)", location=file
        )
    base_dir = path.parent
    report = ImportReport("promptfoo", file)
    header: list[str] = []
    _note_fields(data, file, report)

    default = data.get("defaultTest") or {}
    default_file, default_line = file, line_of(data, "defaultTest")
    if isinstance(default, str) and is_file_ref(default):
        where = f"{file}:{default_line}"
        default_path = resolve_refs(default, base_dir, where)[0]
        default = read_structured(default_path, where)
        default_file, default_line = str(default_path), line_of(default)
    if not isinstance(default, dict):
        raise SuiteError(
            "defaultTest: must be a mapping or a file:// path", location=f"{file}:{default_line}"
        )
    _note_default_fields(default, default_file, default_line, report)
    default_options = plain(default.get("options")) or {}
    if not isinstance(default_options, dict):
        default_options = {}
    grader: Any = DEFAULT_GRADER
    if default_options.get("provider") is not None:
        grader = judge_spec(default_options["provider"], DEFAULT_GRADER)
    if isinstance(grader, dict):
        grader = override(grader, options)
    elif options.base_url and isinstance(grader, str) and grader.startswith("openai:"):
        grader = {
            "provider": "openai-compatible",
            "name": grader.split(":", 1)[1],
            "base_url": options.base_url,
        }
    templates = plain(data.get("assertionTemplates")) or {}

    def load_value(ref: str, where: str) -> str:
        return read_text(resolve_refs(ref, base_dir, where)[0], where)

    asserts = AssertMapper(report, templates=templates, grader=grader, load_value=load_value)

    suite: dict[str, Any] = {"id": _suite_id(data, path)}
    description = data.get("description")
    if description:
        suite["name"] = str(description).strip().splitlines()[0][:200]
        suite["description"] = str(description)
    tags = data.get("tags")
    if isinstance(tags, dict) and tags:
        suite["tags"] = [f"{k}:{v}" for k, v in tags.items()]

    origins: dict[str, str] = {}
    models = [] if options.model else _models(data, file, report, options)
    if options.model:
        suite["model"] = options.model
    elif len(models) == 1 and not models[0].labelled:
        suite["model"] = models[0].model
    elif models:
        # providers × prompts is the matrix `evalbook run` runs, as `promptfoo eval` does
        suite["models"] = [{"label": m.label, **m.model} for m in models]
        origins = {m.label: m.origin for m in models}
        header.append("Models (each runs; choose some with --model LABEL):")
        header.extend(f"  {m.label}: {_spec_text(m.model)}" for m in models)
    prompts_raw = data.get("prompts")
    if prompts_raw is None:
        # promptfoo's own default: each test's `prompt` var is the prompt
        prompts_raw = ["{{prompt}}"]
        report.note(
            file, None, "prompts",
            "none given: the prompt is each test's `prompt` var ({{prompt}}), as promptfoo"
            " takes it",
            mapped=True,
        )  # fmt: skip
    versions = map_prompts(
        prompts_raw,
        base_dir,
        file,
        getattr(prompts_raw, "item_lines", None) or [line_of(data, "prompts") or 0],
        report,
    )
    filters = _known_filters(data.get("nunjucksFilters"), base_dir, file, report)
    versions = [_with_builtin_filters(v, filters) for v in versions]
    versions = _without_custom_filters(versions, data.get("nunjucksFilters"), file, report)
    versions = without_broken_templates(versions, file, report)
    if not versions:
        raise SuiteError(
            "no prompt could be imported (see the notes above)",
            location=f"{file}:{line_of(data, 'prompts')}",
        )
    if len(versions) == 1:
        suite["prompt"] = versions[0].body
    else:
        suite["prompt"] = {
            "name": suite["id"],
            "versions": {i: v.body for i, v in enumerate(versions, start=1)},
        }
        suite["prompt_versions"] = list(range(1, len(versions) + 1))
        header.append("Prompt versions (each runs; choose some with --prompt-version N):")
        header.extend(f"  {i}: {v.label}" for i, v in enumerate(versions, start=1))

    if any(m.prompts is not None for m in models):
        models = _own_versions(suite, models, versions, file, report)
    default_scorers = asserts.map_list(
        default.get("assert"),
        default_file,
        line_of(default, "assert") or default_line,
        transform=transform_of(default_options),
        grader=grader,
    )
    if default_scorers:
        suite["scorers"] = default_scorers
    default_vars = plain(default.get("vars")) or {}
    tests = TestMapper(
        report,
        asserts,
        base_dir,
        default_vars,
        default_transform=transform_of(default_options),
        default_grader=grader,
        default_metadata=dict(plain(default.get("metadata")) or {}),
        default_filters={k: plain(default.get(k)) for k in ("providers", "prompts")},
        default_threshold=plain(default.get("threshold")),
        default_scorers=default_scorers,
    )
    cases: list[dict[str, Any]] = []
    raw_tests = collect_tests(data.get("tests"), base_dir, file, line_of(data, "tests"))
    raw_tests += collect_scenarios(
        data.get("scenarios"), base_dir, file, line_of(data, "scenarios")
    )
    for test in raw_tests:
        cases.extend(tests.cases(test))
    if not cases:
        # promptfoo runs each prompt once with the default vars when there are no tests
        tests.count += 1
        cases.append({"id": "test-1", "vars": dict(default_vars)})
    fill_missing_vars(versions, cases, file, line_of(data, "tests"), report)
    tests.spread_defaults(suite, cases)
    cases = _apply_filters(suite, cases, tests, models, versions, options, report)
    if not cases:
        raise SuiteError(
            "no test runs with a provider and prompt that were imported (see the notes)",
            location=file,
        )
    suite["cases"] = cases
    report.cases = len(cases)
    derived = map_derived_metrics(
        data.get("derivedMetrics"), file, line_of(data, "derivedMetrics"), report
    )
    if derived:
        suite["derived_metrics"] = derived
    if not default_scorers and not any(c.get("scorers") for c in cases):
        header.append("The source has no assertions: every case is judged by non-empty output.")
    return ImportedSuite(suite, report, base_dir, header, origins)


def _known_filters(filters: Any, base_dir: Path, file: str, report: ImportReport) -> dict[str, str]:
    """The custom Nunjucks filters whose file is one of the one-line shapes
    :func:`filter_equivalent` reads (name → built-in filter), each noted as mapped."""
    known: dict[str, str] = {}
    for name, ref in (filters or {}).items() if isinstance(filters, dict) else ():
        raw = str(ref)[len("file://") :] if str(ref).startswith("file://") else str(ref)
        target = base_dir / raw
        code = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else ""
        builtin = filter_equivalent(code)
        if builtin is None:
            why = (
                f"{raw}: no such file"
                if not code
                else f"{raw} is code evalbook does not run"
                " (a one-line toUpperCase, toLowerCase, trim or JSON.stringify filter is read)"
            )
            report.note(
                file, line_of(filters, name), f"nunjucksFilters.{name}",
                why + "; a prompt using it is left out",
            )  # fmt: skip
            continue
        known[str(name)] = builtin
        report.note(
            file, line_of(filters, name), f"nunjucksFilters.{name}",
            f"{raw} is the built-in filter {builtin!r}: the prompts use that", mapped=True,
        )  # fmt: skip
    return known


def _with_builtin_filters(version: Any, known: dict[str, str]) -> Any:
    if not known:
        return version
    pattern = re.compile(r"(\|\s*)(" + "|".join(re.escape(k) for k in known) + r")\b")

    def swap(text: str) -> str:
        return pattern.sub(lambda m: m.group(1) + known[m.group(2)], text)

    body = version.body
    if isinstance(body, str):
        return replace(version, body=swap(body))
    messages = [{**m, "content": swap(m["content"])} for m in body.get("messages", [])]
    system = {"system": swap(body["system"])} if body.get("system") else {}
    return replace(version, body={**body, **system, "messages": messages})


def _without_custom_filters(
    versions: list[Any], filters: Any, file: str, report: ImportReport
) -> list[Any]:
    """The prompt versions that use none of the config's custom Nunjucks filters (code
    evalbook does not run); each other one is reported at its line and left out."""
    if not isinstance(filters, dict) or not filters:
        return versions
    pattern = re.compile(r"\|\s*(" + "|".join(re.escape(str(k)) for k in filters) + r")\b")
    kept = []
    for version in versions:
        body = version.body
        text = body if isinstance(body, str) else json.dumps(body)
        used = pattern.search(text)
        if used is None:
            kept.append(version)
            continue
        report.note(
            file, version.line, f"prompt {version.label}",
            f"uses the custom Nunjucks filter {used.group(1)!r} (nunjucksFilters runs code);"
            " left out: rewrite the template without it",
        )  # fmt: skip
    return kept


def _apply_filters(
    suite: dict[str, Any],
    cases: list[dict[str, Any]],
    tests: TestMapper,
    models: list[_Model],
    versions: list[Any],
    options: ImportOptions,
    report: ImportReport,
) -> list[dict[str, Any]]:
    """Per-test ``providers:``/``prompts:`` → ``case_filters:``; a case that runs in no
    imported combination is left out, as promptfoo runs it nowhere, and its assertions
    are taken out of the summary (they are not imported)."""
    filters = tests.filters
    if not filters:
        return cases
    model_choices = [
        Choice(m.label, tuple(n for n in (m.source_label, m.pid) if n)) for m in models
    ]
    version_choices = [Choice(i, (v.label, v.id)) for i, v in enumerate(versions, start=1)]
    out: list[dict[str, Any]] = []
    case_filters: dict[str, dict[str, Any]] = {}
    noted: set[tuple[str, int | None]] = set()
    taken_out: list[Any] = []
    for case in cases:
        spec = filters.get(case["id"])
        if spec is None:
            out.append(case)
            continue
        entry: dict[str, Any] = {}
        chosen_models = resolve_filter(spec.providers, model_choices, prefix=not spec.own_provider)
        if spec.providers is not None and (options.model or not models):
            chosen_models = None  # one model (or --model): the filter cannot choose
        if spec.own_provider:
            chosen_models = _own_provider_models(spec, chosen_models, case, report)
        chosen_versions = resolve_filter(spec.prompts, version_choices, prefix=False)
        if chosen_models == [] or chosen_versions == []:
            report.note(
                spec.file, spec.line, "tests.providers/prompts",
                f"{case['id']} runs with none of the imported providers and prompts; left"
                " out, as promptfoo runs it nowhere",
                mapped=True,
            )  # fmt: skip
            counted = tests.counted.get(case["id"])
            if counted is not None and counted not in taken_out:
                taken_out.append(counted)
            continue
        if chosen_models is not None and len(chosen_models) < len(models):
            entry["models"] = chosen_models
        if chosen_versions is not None and len(chosen_versions) < len(versions):
            entry["prompt_versions"] = chosen_versions
        if entry:
            case_filters[case["id"]] = entry
        if (spec.file, spec.line) not in noted and not spec.own_provider:
            noted.add((spec.file, spec.line))
            report.note(
                spec.file, spec.line, "tests.providers/prompts",
                "mapped to case_filters: the case runs only with the chosen models and"
                " prompt versions",
                mapped=True,
            )  # fmt: skip
        out.append(case)
    if case_filters:
        suite["case_filters"] = case_filters
    for counted in taken_out:
        report.assertions -= counted.assertions
        report.assertions_mapped -= counted.mapped
        report.notes = [n for n in report.notes if all(n is not c for c in counted.notes)]
    return out


def _own_provider_models(
    spec: FilterSpec, chosen: list[Any] | None, case: dict[str, Any], report: ImportReport
) -> list[Any] | None:
    """A test's own ``provider:``: the model of the config it names (the case runs with
    it alone), else nothing chosen and the provider reported as not imported."""
    if chosen:
        report.note(
            spec.file, spec.line, "tests.provider",
            f"{case['id']} runs only with {', '.join(map(str, chosen))}, its own provider",
            mapped=True,
        )  # fmt: skip
        return chosen
    report.note(
        spec.file, spec.line, "tests.provider",
        "a test's own provider that is not one of the config's providers is not imported:"
        " the case runs with the suite's models (give it a models: entry and a"
        " case_filters: line)",
    )  # fmt: skip
    return None


@dataclass(frozen=True)
class _Model:
    label: str
    labelled: bool  # the source gave the label
    model: dict[str, Any]
    origin: str  # file:line and the provider's id, for errors about it
    pid: str = ""  # the provider's promptfoo id
    source_label: str | None = None
    #: The provider's own ``prompts:`` (promptfoo's providerPromptMap), as written.
    prompts: Any = None
    line: int | None = None


def _models(
    data: dict[str, Any], file: str, report: ImportReport, options: ImportOptions
) -> list[_Model]:
    """Every provider that maps, in the source's order; the others are reported."""
    raw = data.get("providers", data.get("targets"))
    key = "providers" if "providers" in data else "targets"
    if raw is None:
        return []
    if isinstance(raw, str) and is_file_ref(raw) and not raw.endswith((".py", ".js")):
        where = f"{file}:{line_of(data, key)}"
        raw_path = resolve_refs(raw, Path(file).parent, where)[0]
        raw = read_structured(raw_path, where)
        file = str(raw_path)
    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, dict) and "id" not in raw:
        items = [{k: v} for k, v in raw.items()]
    lines = getattr(raw, "item_lines", None) or []
    found: list[_Model] = []
    for i, item in enumerate(items):
        mapped = map_provider(item, options)
        line = lines[i] if i < len(lines) else line_of(data, key)
        note_provider_fields(item, file, line, mapped.id, list(mapped.config_notes), report)
        if mapped.model is None:
            report.note(file, line, f"provider {mapped.id}", mapped.reason or "not mapped")
            continue
        label = str(mapped.label or mapped.id)
        if label in {m.label for m in found}:  # a matrix column needs its own name
            label = f"{label} #{i + 1}"
            report.note(file, line, f"provider {mapped.id}", f"labelled {label!r}", mapped=True)
        origin = f"{file}:{line}" if line else file
        found.append(
            _Model(label, mapped.label is not None, mapped.model,
                   f"{origin}, promptfoo provider {mapped.id}", mapped.id, mapped.label,
                   _own_prompts(item), _own_prompts_line(item) or line)
        )  # fmt: skip
    return found


def _own_prompts(item: Any) -> Any:
    """A provider entry's own ``prompts:`` (``{id, prompts}`` or ``{ID: {prompts}}``)."""
    data = plain(item)
    if isinstance(data, dict) and "id" not in data and len(data) == 1:
        data = next(iter(data.values()))
    return data.get("prompts") if isinstance(data, dict) else None


def _own_prompts_line(item: Any) -> int | None:
    data = item
    if isinstance(item, dict) and "id" not in item and len(item) == 1:
        data = next(iter(item.values()))
    return line_of(data, "prompts") if isinstance(data, dict) else None


def _own_versions(
    suite: dict[str, Any], models: list[_Model], versions: list[Any], file: str,
    report: ImportReport,
) -> list[_Model]:  # fmt: skip
    """A provider's own ``prompts:`` (promptfoo's providerPromptMap) → its model's
    ``prompt_versions:`` (one model: the suite's); a provider that runs none of the
    imported prompts is left out, as promptfoo runs nothing with it."""
    choices = [Choice(i, (v.label, v.id)) for i, v in enumerate(versions, start=1)]
    entries = suite.get("models")
    kept: list[dict[str, Any]] = []
    kept_models: list[_Model] = []
    for i, model in enumerate(models):
        entry = entries[i] if entries else None
        own = model.prompts
        chosen = None if own is None else resolve_filter(_names(own), choices, prefix=False)
        if chosen == []:
            report.note(
                file, model.line, f"provider {model.pid}: prompts",
                "selects none of the imported prompts; the provider is left out, as promptfoo"
                " runs nothing with it",
            )  # fmt: skip
            continue
        if chosen is not None:
            report.note(
                file, model.line, f"provider {model.pid}: prompts",
                f"mapped: the model runs prompt versions {chosen} (providerPromptMap)",
                mapped=True,
            )  # fmt: skip
            if len(chosen) < len(versions):
                if entry is not None:
                    entry["prompt_versions"] = chosen
                elif "prompt_versions" in suite:
                    suite["prompt_versions"] = chosen  # the one model runs only these
        kept_models.append(model)
        if entry is not None:
            kept.append(entry)
    if entries is not None:
        if not kept:
            raise SuiteError("no provider runs any imported prompt (see the notes)", location=file)
        suite["models"] = kept
    return kept_models


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


#: What a provider entry may hold besides its id, label and config, and why it is not
#: imported.
#: defaultTest fields the importer maps.
_DEFAULT_FIELDS = {
    *("vars", "assert", "options", "metadata", "providers", "prompts", "description"),
    "threshold",
}


def _note_default_fields(
    default: dict[str, Any], file: str, line: int | None, report: ImportReport
) -> None:
    from evalbook.importers.promptfoo._tests import OPTIONS, UNSUPPORTED_OPTIONS

    for key in default:
        if key in _DEFAULT_FIELDS:
            continue
        else:
            reason = "defaultTest field with no evalbook equivalent, not applied"
        report.note(file, line_of(default, key) or line, f"defaultTest.{key}", reason)
    options = default.get("options")
    if isinstance(options, dict):
        for key in options:
            if key not in OPTIONS:
                reason = UNSUPPORTED_OPTIONS.get(
                    key, "test option with no evalbook equivalent, not applied"
                )
                report.note(
                    file, line_of(options, key) or line, f"defaultTest.options.{key}", reason
                )


def _spec_text(model: dict[str, Any]) -> str:
    spec = f"{model['provider']}:{model['name']}"
    return f"{spec}@{model['base_url']}" if model.get("base_url") else spec


def _note_fields(data: dict[str, Any], file: str, report: ImportReport) -> None:
    for key in data:
        line = line_of(data, key)
        if key in _HANDLED:
            continue
        if key in _IGNORED:
            report.note(file, line, key, f"not needed: {_IGNORED[key]}", mapped=True)
        elif str(key).startswith("x-"):
            report.note(
                file, line, key,
                "an extension key (YAML anchors to reuse): what refers to it is imported",
                mapped=True,
            )  # fmt: skip
        elif key in _UNMAPPED:
            report.note(file, line, key, _UNMAPPED[key])
        else:
            report.note(file, line, key, "unknown promptfoo field, not imported")


def suite_id_of(data: dict[str, Any], path: Path) -> str:
    """The suite id of a config: its description's slug, else its folder's name (so a
    results file carrying the config names the same suite)."""
    return _suite_id(data, path)


def _suite_id(data: dict[str, Any], path: Path) -> str:
    description = data.get("description")
    base = str(description).strip().splitlines()[0] if description else path.stem
    slug = re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-.")[:60].strip("-.")
    if not slug or slug == "promptfooconfig":
        slug = re.sub(r"[^a-z0-9_.-]+", "-", path.parent.name.lower()).strip("-.") or "promptfoo"
    return slug
