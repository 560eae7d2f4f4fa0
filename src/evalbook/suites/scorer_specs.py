"""Scorer specs of a suite, parsed, built and checked against every case at load.

A typo in a scorer name, a bad regex or a case without the ``expected`` its ``equals``
needs should fail the load with the file line, not 10,000 results at run time. Specs are
parsed with :func:`~evalbook.scorers.registry.parse_scorer_spec`, built with
:func:`~evalbook.scorers.registry.build_scorer` (identical specs once per load), and each
scorer's ``check_case`` runs for every case it applies to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from evalbook.core.suite import Case, ScorerSpec
from evalbook.core.templating import compile_template, is_template
from evalbook.errors import TemplateError, UserError
from evalbook.suites.problems import Problems, Where
from evalbook.suites.yaml_lines import plain

if TYPE_CHECKING:
    from evalbook.scorers.base import Scorer

__all__ = ["ScorerBuilder", "parse_specs"]


def parse_specs(
    raw: Any, where: Where, steps: tuple[str, ...], problems: Problems
) -> tuple[list[ScorerSpec], bool]:
    """The specs of a list (``scorers``, ``render_assertions``); bad items recorded."""
    from evalbook.scorers.registry import parse_scorer_spec

    if raw is None:
        return [], True
    if not isinstance(raw, list):
        problems.add(where, "must be a list of scorers", steps)
        return [], False
    specs: list[ScorerSpec] = []
    ok = True
    for i, item in enumerate(raw):
        try:
            specs.append(parse_scorer_spec(plain(item)))
        except ValueError as exc:
            problems.add(where, str(exc), (*steps, i))
            ok = False
    return specs, ok


class ScorerBuilder:
    """Builds scorers for one load; an identical spec is built (and reported) once."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self._built: dict[str, Scorer | str] = {}

    def build(
        self,
        specs: Sequence[ScorerSpec],
        where: Where,
        steps: tuple[str, ...],
        *,
        case_id: str | None = None,
    ) -> list[Scorer]:
        """The scorers of ``specs``; each failure is recorded at ``where`` + ``steps[i]``."""
        scorers: list[Scorer] = []
        for i, spec in enumerate(specs):
            built = self._build_one(spec)
            if isinstance(built, str):
                context = f"case {case_id!r}: " if case_id else ""
                self.problems.add(where, f"{context}{built}", (*steps, i))
            else:
                scorers.append(built)
        return scorers

    def _build_one(self, spec: ScorerSpec) -> Scorer | str:
        key = spec.model_dump_json()
        if key not in self._built:
            self._built[key] = _build(spec)
        return self._built[key]

    def check(self, case: Case, scorers: Sequence[Scorer], where: Where) -> None:
        """Run every scorer's ``check_case``; failures name the case and its line."""
        for scorer in scorers:
            try:
                scorer.check_case(case)
            except ValueError as exc:
                message = str(exc)
                if repr(case.id) not in message:
                    message = f"case {case.id!r}: {message}"
                self.problems.add(where, message)


def _build(spec: ScorerSpec) -> Scorer | str:
    """A scorer, or the message saying why it cannot be built."""
    from evalbook.scorers.registry import build_scorer

    if isinstance(spec.value, str) and is_template(spec.value):
        try:
            compile_template(spec.value)
        except TemplateError as exc:
            return f"scorer {spec.type!r}: value {exc}"
    try:
        return build_scorer(spec)
    except ValidationError as exc:
        options = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
            for err in exc.errors()
        )
        return f"scorer {spec.type!r}: bad options: {options}"
    except (UserError, ValueError, TypeError) as exc:
        message = str(exc)
        return message if spec.base_type in message else f"scorer {spec.type!r}: {message}"
