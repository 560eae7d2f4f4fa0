"""Multiple choice: find the choice the model picked and compare it with the answer.

Models answer a lettered question in many shapes (``B``, ``(B)``, ``B) Paris``,
``Answer: B``, ``the answer is B``, or the text of a choice). The extraction tries the
most explicit shapes first, matches letters and choice texts only as whole words ("4" is
not in "14", "valid" is not in "invalid", "P" is not in "propositions"), and gives up
rather than guess when two different choices match. What decided is kept in the evidence:
the shape, the matched text and where it stands in the output.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, ClassVar

from evalbook.core.suite import Case, ScorerKind
from evalbook.core.templating import is_template
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["Choice", "Pick", "extract_choice", "resolve_answer"]

_LETTERS = string.ascii_uppercase
# An explicit statement: "answer" (any case; "is/would be/should be" and a colon optional),
# or "option"/"choice" with "is" or a colon; then an upper-case letter standing alone
# ("is A dog" would match, "is Berlin" would not).
_STATED = re.compile(
    r"(?i:\b(?:(?:final\s+|correct\s+)?answer(?:\s+(?:is|would\s+be|should\s+be))?\s*:?"
    r"|(?:correct\s+)?(?:option|choice)\s*(?:is|:)))"
    r"\s*[*(\[]*([A-Z])(?![A-Za-z0-9])"
)
# The text after an explicit "Answer:" / "the answer is", up to the end of its line.
_STATED_TEXT = re.compile(r"(?i:\banswer(?:\s+is)?\s*:?)[ \t]*([^\n]+)")
_LEADING = re.compile(r"^[\s*]*[(\[]?([A-Z])[)\].:]")
_PARENS = re.compile(r"\(([A-Z])\)")
_BARE = re.compile(r"^[\s*(\[]*([A-Za-z])[\s*)\].:]*$")
_TRAILING_PUNCT = " \t\n.!?;:*\"'`"


@dataclass(frozen=True)
class Pick:
    """What :func:`extract_choice` found: the choice (``None`` when it will not guess),
    how, the text of the output that decided and its ``[start, end)`` in the output."""

    index: int | None
    how: str
    matched: str | None = None
    span: tuple[int, int] | None = None
    #: Two different choices matched (as opposed to none): a refusal, not a miss.
    conflict: bool = False

    def details(self, choices: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"how": self.how, "matched": self.matched}
        if self.span is not None:
            out["span"] = list(self.span)
        if self.index is not None:
            out["picked"] = _LETTERS[self.index]
            out["picked_text"] = choices[self.index]
        return out


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


def extract_choice(output: str, choices: list[str]) -> Pick:
    """The choice ``output`` picks, trying in order: the whole output is one letter; an
    explicit answer ("Answer: B", "the correct option is B", "Answer: Paris"); a leading
    letter ("B) London"); one letter in parentheses; the whole output is a choice's text;
    exactly one choice's text appears as whole words. Refuses (index ``None``) when a
    shape names two different choices."""
    valid = _LETTERS[: len(choices)]
    if not output.strip():
        return Pick(None, "output is empty")
    offset = len(output) - len(output.lstrip())
    text = output.strip()
    bare = _BARE.match(text)
    if bare is not None and bare.group(1).upper() in valid:
        return Pick(valid.index(bare.group(1).upper()), "a single letter", text, _at(offset, text))

    stated = [m for m in _STATED.finditer(text) if m.group(1) in valid]
    letters = sorted({m.group(1) for m in stated})
    if len(letters) > 1:
        answers = ", ".join(letters)
        return Pick(None, f"the output states several answers ({answers})", conflict=True)
    if stated:
        m = stated[-1]
        span = (offset + m.start(), offset + m.end())
        return Pick(valid.index(m.group(1)), "an explicit answer", m.group(0), span)
    picked = _stated_text(text, choices, offset)
    if picked is not None:
        return picked

    in_parens = {m.group(1) for m in _PARENS.finditer(text)} & set(valid)
    leading = _LEADING.match(text)
    if leading is not None and leading.group(1) in valid and in_parens <= {leading.group(1)}:
        letter = leading.group(1)
        span = (offset + leading.start(1), offset + leading.end())
        return Pick(valid.index(letter), f"a leading '{letter}'", leading.group(0).strip(), span)
    if len(in_parens) == 1:
        (letter,) = in_parens
        m = next(m for m in _PARENS.finditer(text) if m.group(1) == letter)
        return Pick(valid.index(letter), f"'({letter})'", m.group(0), _at(offset + m.start(), m[0]))
    if len(in_parens) > 1:
        letters = sorted(in_parens)
        return Pick(None, f"several letters in parentheses ({', '.join(letters)})", conflict=True)

    folded = [c.strip().casefold() for c in choices]
    whole = text.rstrip(_TRAILING_PUNCT).casefold()
    if whole in folded and folded.count(whole) == 1:
        return Pick(folded.index(whole), "the text of a choice", text, _at(offset, text))
    return _mentioned(text, choices, offset, "the only choice text in the output")


def _stated_text(text: str, choices: list[str], offset: int) -> Pick | None:
    """A choice's text right after "Answer:" (on the same line), as whole words."""
    for m in reversed(list(_STATED_TEXT.finditer(text))):
        tail = m.group(1)
        found = _mentioned(tail, choices, offset + m.start(1), "a choice text after 'answer'")
        if found.index is not None or found.conflict:
            return found
    return None


def _at(start: int, matched: str) -> tuple[int, int]:
    return (start, start + len(matched))


def _mentioned(text: str, choices: list[str], offset: int, how: str) -> Pick:
    """Choice texts that appear in ``text`` as whole words; a match inside a longer match
    of another choice ("P" inside "P → Q") does not count."""
    folded = text.casefold()
    spans: list[tuple[int, int, int]] = []  # (start, end, choice index)
    for i, choice in enumerate(choices):
        needle = choice.strip().casefold()
        if not needle or (len(needle) == 1 and needle.isalpha()):
            continue  # a one-letter text is a letter, found above, not a word in a sentence
        spans.extend((m.start(), m.end(), i) for m in _word_pattern(needle).finditer(folded))
    kept = [
        (s, e, i)
        for s, e, i in spans
        if not any(j != i and s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, j in spans)
    ]
    found = sorted({i for _, _, i in kept})
    if not found:
        return Pick(None, "no answer letter or choice text found")
    if len(found) > 1:
        names = ", ".join(f"{_LETTERS[i]} ({choices[i]!r})" for i in found)
        return Pick(None, f"{len(found)} choice texts in the output: {names}", conflict=True)
    start, end, index = max((k for k in kept if k[2] == found[0]), key=lambda k: k[0])
    return Pick(index, how, text[start:end], (offset + start, offset + end))


def _word_pattern(needle: str) -> re.Pattern[str]:
    """``needle`` standing alone: no word character (or, for numbers, no digit group or
    sign) glued to either end."""
    before = r"(?<!\w)"
    after = r"(?!\w)"
    if needle[0].isdigit():
        before += r"(?<![-+−])(?<!\d[.,])"
    if needle[-1].isdigit():
        after += r"(?![.,]\d)"
    return re.compile(before + re.escape(needle) + after)


class Choice(Scorer):
    """The choice the model picked equals the answer (``expected``, or the spec's value).

    Choices are lettered A, B, … in order; ``expected`` may be a letter, a 0-based index
    or the text of a choice. The label is the picked letter; the evidence says how it was
    found and which text of the output matched.
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
        pick = extract_choice(ctx.output or "", choices)
        want = _LETTERS[answer]
        details = {**pick.details(choices), "expected": want}
        if pick.index is None:
            return ScoreOutcome(
                score=0.0,
                passed=False,
                rationale=f"{pick.how}; expected {want}",
                evidence={"details": details},
            )
        got = _LETTERS[pick.index]
        ok = pick.index == answer
        shown = f" ({pick.matched!r})" if pick.matched and pick.matched != got else ""
        return ScoreOutcome(
            score=1.0 if ok else 0.0,
            passed=ok,
            label=got,
            rationale=f"extracted {got} from {pick.how}{shown}; expected {want}",
            evidence={"details": details},
        )
