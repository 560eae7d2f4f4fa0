"""What a template sees for a case: the one definition shared by prompt rendering and by
scorer values (a scorer's ``value`` is rendered per case with the same names)."""

from __future__ import annotations

from typing import Any

from evalbook.core.suite import Case

#: Names every case provides, from its own fields (a var of the same name wins).
RESERVED_VARIABLES = frozenset({"expected", "choices", "case_id", "section"})


def template_context(case: Case) -> dict[str, Any]:
    """What a template sees for ``case``: its vars, then the reserved names it lacks."""
    variables = dict(case.vars)
    for name, value in (
        ("expected", case.expected),
        ("choices", case.choices),
        ("case_id", case.id),
        ("section", case.section),
    ):
        variables.setdefault(name, value)
    return variables
