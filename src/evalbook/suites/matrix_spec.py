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

from evalbook.core.suite import MatrixModel, Prompt
from evalbook.suites.model_spec import build_model
from evalbook.suites.problems import Problems, Where

__all__ = ["build_models", "build_prompt_versions"]


def build_models(raw: Any, where: Where, problems: Problems) -> list[MatrixModel]:
    """The labelled models of ``models:`` (empty when absent or when a problem was
    recorded)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        problems.add(where, "must be a non-empty list of models (spec strings or mappings)")
        return []
    found: list[MatrixModel] = []
    seen: dict[str, int] = {}
    ok = True
    for i, item in enumerate(raw):
        one = _entry(item, where.child(i), problems)
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


def _entry(item: Any, where: Where, problems: Problems) -> MatrixModel | None:
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
    rest = {k: v for k, v in item.items() if k != "label"}
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
    return MatrixModel(label=(label or config.spec).strip(), model=config, origin=where.location())


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
