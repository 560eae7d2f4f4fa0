"""Multiple choice: find the letter the model chose and compare it with the answer.

Models answer a lettered question in many shapes (``B``, ``(B)``, ``B) Paris``,
``Answer: B``, ``the answer is B``, or just the text of a choice). The extraction tries
the most explicit shapes first and gives up rather than guess when the output names
several different letters.
"""

from __future__ import annotations

import re
import string
from typing import Any, ClassVar

from evalbook.core.suite import Case, ScorerKind
from evalbook.core.templating import is_template
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["Choice", "extract_choice", "resolve_answer"]

_LETTERS = string.ascii_uppercase
# "answer" in any case, then an upper-case letter standing alone ("is A dog" would
# match, "is Berlin" would not).
_ANSWER = re.compile(
    r"(?i:\banswer(?:\s+is|\s+would\s+be|\s+should\s+be)?)\s*:?\s*[*(\[]*([A-Z])(?![A-Za-z])"
)
_LEADING = re.compile(r"^[\s*]*[(\[]?([A-Z])[)\].:]")
_PARENS = re.compile(r"\(([A-Z])\)")
_BARE = re.compile(r"^[\s*(\[]*([A-Za-z])[\s*)\].:]*$")


def resolve_answer(expected: Any, choices: list[str]) -> int | None:
    """The index ``expected`` names: a letter (``"B"``), a 0-based index (``1``), or the
    text of a choice; ``None`` when it names none of ``choices``."""
    if isinstance(expected, bool):
        return None
    if isinstance(expected, int):
        return expected if 0 <= expected < len(choices) else None
    if not isinstance(expected, str):
        return None
    text = expected.strip()
    bare = _BARE.match(text)
    if bare is not None:
        index = _LETTERS.find(bare.group(1).upper())
        if 0 <= index < len(choices):
            return index
    folded = [c.strip().casefold() for c in choices]
    if text.casefold() in folded:
        return folded.index(text.casefold())
    if text.isdigit() and int(text) < len(choices):
        return int(text)
    return None


def extract_choice(output: str, choices: list[str]) -> tuple[int | None, str]:
    """``(index, how)``: the choice the output picks and the shape it was found in, or
    ``(None, reason)``."""
    valid = _LETTERS[: len(choices)]
    text = output.strip()
    if not text:
        return None, "output is empty"
    bare = _BARE.match(text)
    if bare is not None and bare.group(1).upper() in valid:
        return valid.index(bare.group(1).upper()), "a single letter"
    stated = [m.group(1) for m in _ANSWER.finditer(text) if m.group(1) in valid]
    if stated:
        return valid.index(stated[-1]), f"'answer … {stated[-1]}'"
    in_parens = {m.group(1) for m in _PARENS.finditer(text)} & set(valid)
    leading = _LEADING.match(text)
    if leading is not None and leading.group(1) in valid and in_parens <= {leading.group(1)}:
        return valid.index(leading.group(1)), f"a leading '{leading.group(1)}'"
    if len(in_parens) == 1:
        (letter,) = in_parens
        return valid.index(letter), f"'({letter})'"
    if len(in_parens) > 1:
        return None, f"several letters in parentheses ({', '.join(sorted(in_parens))})"
    folded_output = text.casefold()
    folded = [c.strip().casefold() for c in choices]
    if folded_output in folded:
        return folded.index(folded_output), "the text of a choice"
    mentioned = [i for i, c in enumerate(folded) if c and c in folded_output]
    if len(mentioned) == 1:
        return mentioned[0], "the only choice text in the output"
    if mentioned:
        return None, f"{len(mentioned)} choice texts in the output"
    return None, "no answer letter or choice text found"


class Choice(Scorer):
    """The letter the model chose equals the answer (``expected``, or the spec's value).

    Choices are lettered A, B, … in order; ``expected`` may be a letter, a 0-based index
    or the text of a choice. The label is the extracted letter.
    """

    kind: ClassVar[ScorerKind] = ScorerKind.reference_based
    uses_expected: ClassVar[bool] = True

    def check_case(self, case: Case) -> None:
        if not case.choices:
            raise ValueError(
                f"case {case.id!r} has no choices, which scorer {self.spec.metric_name!r} needs"
            )
        if len(case.choices) > len(_LETTERS):
            raise ValueError(f"case {case.id!r} has more than {len(_LETTERS)} choices")
        super().check_case(case)
        answer = self.spec.value if self.spec.value is not None else case.expected
        if isinstance(answer, str) and is_template(answer):
            return  # a template; checked when rendered
        if resolve_answer(answer, case.choices) is None:
            raise ValueError(
                f"case {case.id!r}: answer {answer!r} is not a letter, index or text of"
                f" its {len(case.choices)} choices"
            )

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        choices = ctx.case.choices
        if not choices:
            raise ValueError(f"case {ctx.case.id!r} has no choices")
        answer = resolve_answer(self.reference(ctx), choices)
        if answer is None:
            raise ValueError(
                f"case {ctx.case.id!r}: answer {self.reference(ctx)!r} names none of its choices"
            )
        picked, how = extract_choice(ctx.output or "", choices)
        want = _LETTERS[answer]
        if picked is None:
            return ScoreOutcome(score=0.0, passed=False, rationale=f"{how}; expected {want}")
        got = _LETTERS[picked]
        ok = picked == answer
        return ScoreOutcome(
            score=1.0 if ok else 0.0,
            passed=ok,
            label=got,
            rationale=f"extracted {got} from {how}; expected {want}",
        )
