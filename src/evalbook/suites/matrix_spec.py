"""The ``models:`` and ``prompt_versions:`` of a suite file: the matrix ``evalbook run`` runs.

promptfoo users keep their providers × prompts in the config; a suite may do the same::

    models:
      - openai:gpt-4o-mini                                  # label: the spec
      - {label: big, spec: "openai:gpt-4o", temperature: 0}  # any form of `model:`
      - {label: local, model: "openai-compatible:m@http://127.0.0.1:8000/v1"}
    prompt_versions: [1, 2]

Every combination is its own run under one experiment (as with several ``--model`` and
``--prompt-version`` flags, which replace these lists when given). A bad entry is a
problem at its own line and field, reported with every other problem of the file.
"""

from __future__ import annotations

from typing import Any

from evalbook.core.suite import CaseFilter, DerivedMetric, MatrixModel, Prompt
from evalbook.suites.model_spec import build_model
from evalbook.suites.problems import Problems, Where

__all__ = [
    "build_case_filters",
    "build_derived_metrics",
    "build_models",
    "build_prompt_versions",
]


def build_models(
    raw: Any, where: Where, problems: Problems, versions: list[int] | None = None
) -> list[MatrixModel]:
    """The labelled models of ``models:`` (empty when absent or when a problem was
    recorded); a model's own ``prompt_versions:`` must be among ``versions`` (the ones
    the suite runs)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        problems.add(where, "must be a non-empty list of models (spec strings or mappings)")
        return []
    found: list[MatrixModel] = []
    seen: dict[str, int] = {}
    ok = True
    for i, item in enumerate(raw):
        one = _entry(item, where.child(i), problems, versions)
        if one is None:
            ok = False
            continue
        if one.label in seen:
            problems.add(
                where.child(i),
                f"label {one.label!r} is already used by models[{seen[one.label]}];"
                " give each model its own label",
            )
            ok = False
            continue
        seen[one.label] = i
        found.append(one)
    return found if ok else []


def _entry(
    item: Any, where: Where, problems: Problems, versions: list[int] | None
) -> MatrixModel | None:
    if isinstance(item, str):
        config = build_model(item, where, problems)
        if config is None:
            return None
        return MatrixModel(label=item, model=config, origin=where.location())
    if not isinstance(item, dict):
        problems.add(where, "must be a spec string ('provider:model') or a mapping")
        return None
    label = item.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        problems.add(where, "must be a non-empty string", ("label",))
        return None
    own = item.get("prompt_versions")
    if own is not None and (
        not isinstance(own, list)
        or not own
        or any(isinstance(v, bool) or not isinstance(v, int) for v in own)
        or (versions is not None and any(v not in versions for v in own))
    ):
        listed = ", ".join(str(v) for v in versions or [])
        problems.add(
            where,
            f"must list prompt versions the suite runs ({listed})",
            ("prompt_versions",),
        )
        return None
    rest = {k: v for k, v in item.items() if k not in ("label", "prompt_versions")}
    if "model" in rest:
        extra = sorted(k for k in rest if k != "model")
        if extra:
            problems.add(
                where,
                f"give the model either under 'model' or inline, not both (found {extra})",
            )
            return None
        config = build_model(rest["model"], where.child("model"), problems)
    elif not rest:
        problems.add(where, "names no model: give 'spec', 'provider' and 'name', or 'model'")
        return None
    else:
        config = build_model(rest, where, problems)
    if config is None:
        return None
    return MatrixModel(
        label=(label or config.spec).strip(),
        model=config,
        origin=where.location(),
        prompt_versions=list(own) if own is not None else None,
    )


def build_prompt_versions(
    raw: Any, where: Where, prompt: Prompt | None, problems: Problems
) -> list[int]:
    """The prompt versions of ``prompt_versions:``, each checked against the prompt."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        problems.add(where, "must be a non-empty list of prompt version numbers")
        return []
    known = {v.version for v in prompt.versions} if prompt is not None else None
    found: list[int] = []
    ok = True
    for i, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            problems.add(where, f"{item!r} is not a prompt version (a whole number ≥ 1)", (i,))
            ok = False
        elif item in found:
            problems.add(where, f"version {item} is listed twice", (i,))
            ok = False
        elif known is not None and item not in known:
            listed = ", ".join(str(v) for v in sorted(known))
            problems.add(where, f"the prompt has no version {item} (known: {listed})", (i,))
            ok = False
        else:
            found.append(item)
    return found if ok else []


def build_case_filters(
    raw: Any, where: Where, labels: list[str], versions: list[int], problems: Problems
) -> dict[str, CaseFilter]:
    """``case_filters:``: case id → ``{models: [LABEL…], prompt_versions: [N…]}``, the
    combinations of the matrix that case runs in (promptfoo's per-test filters). Labels
    must be the suite's ``models:`` labels; versions, prompt versions it has."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, "must map case ids to {models: [...], prompt_versions: [...]}")
        return {}
    found: dict[str, CaseFilter] = {}
    for case_id, entry in raw.items():
        at = where.child(str(case_id))
        if not isinstance(entry, dict) or not entry or set(entry) - {"models", "prompt_versions"}:
            problems.add(at, "must be a mapping with models and/or prompt_versions")
            continue
        models = entry.get("models")
        chosen = entry.get("prompt_versions")
        if models is not None and (
            not isinstance(models, list) or any(m not in labels for m in models)
        ):
            known = ", ".join(repr(label) for label in labels) or "none"
            problems.add(at, f"models must list labels of the suite's models: ({known})")
            continue
        if chosen is not None and (
            not isinstance(chosen, list)
            or any(isinstance(v, bool) or not isinstance(v, int) for v in chosen)
            or (versions and any(v not in versions for v in chosen))
        ):
            problems.add(at, "prompt_versions must list prompt versions the suite runs")
            continue
        found[str(case_id)] = CaseFilter(models=models, prompt_versions=chosen)
    return found


def build_derived_metrics(raw: Any, where: Where, problems: Problems) -> list[DerivedMetric]:
    """``derived_metrics:``: ``[{name, expression}]``, each expression checked to be
    arithmetic over names (see :mod:`evalbook.stats.expression`)."""
    from evalbook.stats.expression import ExpressionError, parse_expression

    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, "must be a list of {name, expression}")
        return []
    found: list[DerivedMetric] = []
    for i, item in enumerate(raw):
        at = where.child(i)
        if (
            not isinstance(item, dict)
            or set(item) != {"name", "expression"}
            or not isinstance(item["name"], str)
            or not isinstance(item["expression"], str)
        ):
            problems.add(at, "must be {name: TEXT, expression: TEXT}")
            continue
        try:
            parse_expression(item["expression"])
        except ExpressionError as exc:
            problems.add(at, str(exc), ("expression",))
            continue
        found.append(DerivedMetric(name=item["name"], expression=item["expression"]))
    return found
