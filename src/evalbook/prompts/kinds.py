"""Generation kinds by name: built-ins and plugins (entry points of ``evalbook.kinds``),
then a workspace's or a suite file's own, and how an input that names one becomes a case.

An input ``{"_kind": "summarize", "text": "…"}`` becomes a case whose variables are the
input's other keys, whose messages are the kind's (rendered with those variables, like
any prompt), whose scorers are the kind's defaults, tagged ``kind:summarize`` and with
``metadata.kind`` = ``summarize@1`` so that results say what produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalbook.core.kind import GenerationKind
from evalbook.core.registry import Registry
from evalbook.errors import UnknownNameError

__all__ = ["KINDS", "KIND_KEY", "case_of_kind", "find_kind", "known_kinds"]

KINDS: Registry[GenerationKind] = Registry("generation kind", "evalbook.kinds")
#: The input key that names a kind (seed 004).
KIND_KEY = "_kind"


def known_kinds(own: Mapping[str, GenerationKind] | None = None) -> list[str]:
    return sorted(set(KINDS.names()) | set(own or {}))


def find_kind(name: str, own: Mapping[str, GenerationKind] | None = None) -> GenerationKind:
    """The kind called ``name``: the workspace's or suite's own first, then registered
    ones; an unknown name raises with "did you mean" and the known names."""
    if own and name in own:
        return own[name]
    if name in KINDS:
        return KINDS.get(name)
    raise UnknownNameError("generation kind", name, known_kinds(own))


def case_of_kind(row: Mapping[str, Any], kind: GenerationKind) -> dict[str, Any]:
    """A flat input naming ``kind`` as a case in the suite-file form."""
    case_fields = {"id", "expected", "choices", "section", "tags", "metadata", "scorers"}
    variables = {k: v for k, v in row.items() if k not in case_fields and k != KIND_KEY}
    case: dict[str, Any] = {k: row[k] for k in case_fields if k in row}
    case["vars"] = variables
    case["messages"] = kind.case_messages()
    # Fields of the wrong type are passed on as given, for the suite loader to report.
    scorers, tags, metadata = row.get("scorers"), row.get("tags"), row.get("metadata")
    case["scorers"] = [*kind.scorers, *scorers] if isinstance(scorers, list) else scorers
    if scorers is None:
        case["scorers"] = list(kind.scorers)
    if tags is None or isinstance(tags, list):
        mark = f"kind:{kind.name}"
        case["tags"] = [*(tags or []), *([] if mark in (tags or []) else [mark])]
    if metadata is None or isinstance(metadata, dict):
        case["metadata"] = {
            **(metadata or {}),
            "kind": f"{kind.name}@{kind.version}",
            "kind_tier": kind.tier,
        }
    return case
