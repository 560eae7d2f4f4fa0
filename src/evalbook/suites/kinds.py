"""A suite file's ``kinds:`` section and its cases that name a kind (``vars._kind``).

::

    kinds:
      borrower_summary:
        system: You are a credit analyst.
        messages: [{role: user, content: "Summarize {{ borrower_name }} …"}]
        scorers: [non-empty]
        tier: standard
    cases:
      - vars: {_kind: borrower_summary, borrower_name: Budi}
      - vars: {_kind: summarize, text: "…"}        # a built-in kind

A case that names a kind takes the kind's messages and adds its scorers (see
:func:`evalbook.prompts.kinds.case_of_kind`); the suite's own kinds shadow registered
ones of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from evalbook.core.kind import GenerationKind
from evalbook.errors import UnknownNameError
from evalbook.prompts.kinds import KIND_KEY, case_of_kind, find_kind
from evalbook.suites.cases import CaseSource
from evalbook.suites.problems import Problems, Where
from evalbook.suites.yaml_lines import plain

__all__ = ["build_kinds", "with_kinds"]


def build_kinds(raw: Any, where: Where, problems: Problems) -> dict[str, GenerationKind]:
    """The suite's own kinds by name (problems recorded with their lines)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, "must be a mapping of kind name → {system, messages, …}")
        return {}
    kinds: dict[str, GenerationKind] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            problems.add(where, "must be a mapping (system, messages, scorers, tier)", (name,))
            continue
        try:
            kinds[str(name)] = GenerationKind.model_validate({**plain(body), "name": name})
        except ValidationError as exc:
            problems.add_validation(where.child(name), exc)
    return kinds


def with_kinds(
    sources: Iterator[CaseSource], own: dict[str, GenerationKind], problems: Problems
) -> Iterator[CaseSource]:
    """The cases, those naming a kind rendered through it."""
    for source in sources:
        variables = source.raw.get("vars")
        if not isinstance(variables, dict) or KIND_KEY not in variables:
            yield source
            continue
        name = variables[KIND_KEY]
        try:
            kind = find_kind(str(name), own)
        except UnknownNameError as exc:
            problems.add(source.where, str(exc), ("vars", KIND_KEY))
            continue
        if "messages" in source.raw:
            problems.add(
                source.where, "a case naming a kind takes the kind's messages", ("messages",)
            )
            continue
        row = {k: v for k, v in source.raw.items() if k != "vars"} | dict(variables)
        yield source._replace(raw=case_of_kind(row, kind))
