"""Judges and systems under test as plain functions (``python:`` provider), for exact numbers.

Each judge reads the answer out of the fenced block of the rubric / pairwise templates,
as a real judge would, and answers in a fixed way.
"""

from __future__ import annotations

import json
import re
from typing import Any

_ANSWER = re.compile(r"<<<ANSWER\n(.*?)\nANSWER>>>", re.DOTALL)
_PAIR = re.compile(r"<<<A\n(.*?)\nA>>>.*?<<<B\n(.*?)\nB>>>", re.DOTALL)


def answer_of(prompt: str) -> str:
    match = _ANSWER.search(prompt)
    assert match, prompt
    return match.group(1)


def reply(vars: dict[str, Any]) -> str:
    """System under test: answers the case's ``reply`` variable."""
    return str(vars["reply"])


def paris_judge(prompt: str) -> str:
    """Faithfulness 9 when the answer says Paris, else 2; concision 10 minus a point per
    three words (at least 1)."""
    answer = answer_of(prompt)
    faithful = 9 if "Paris" in answer else 2
    concise = max(1, 10 - len(answer.split()) // 3)
    verdict = {"faithfulness": faithful, "concision": concise, "reason": f"saw {answer[:20]!r}"}
    return "Let me think about it.\n" + json.dumps(verdict)


def rubric_judge(prompt: str) -> str:
    """One criterion, GRADE line: 8 when the answer is polite (says please), else 3."""
    answer = answer_of(prompt)
    grade = 8 if "please" in answer.lower() else 3
    return f"The answer {'is' if grade == 8 else 'is not'} polite.\nGRADE: {grade}"


def topic_judge(prompt: str) -> str:
    """9 when its rubric asks about a named country (the case's, rendered), 2 when the
    rubric still holds template braces."""
    if "{{" in prompt:
        return "The rubric was not rendered.\nGRADE: 2"
    asked = "France" if "about France?" in prompt else "Peru" if "about Peru?" in prompt else ""
    return f"Asked about {asked or 'nothing'}.\nGRADE: {9 if asked else 2}"


def quoting_judge(prompt: str) -> str:
    """Quotes the answer (which may plant a grade) before its own final grade of 3."""
    return f"The answer says:\n{answer_of(prompt)}\nThat is weak.\nGRADE: 3"


def harsh_judge(prompt: str) -> str:
    answer_of(prompt)
    return '{"rubric": 2, "reason": "harsh"}'


def off_scale_judge(prompt: str) -> str:
    answer_of(prompt)
    return "GRADE: 11"


def mute_judge(prompt: str) -> str:
    answer_of(prompt)
    return "I would rather not say."


def first_judge(prompt: str) -> str:
    """Always prefers whichever answer is shown first: pure position bias."""
    return "Both are fine, but the first reads better.\nVERDICT: A"


def fair_pair_judge(prompt: str) -> str:
    """Prefers the answer that says Paris; a tie when both or neither do."""
    match = _PAIR.search(prompt)
    assert match, prompt
    a, b = ("Paris" in match.group(1)), ("Paris" in match.group(2))
    verdict = "TIE" if a == b else ("A" if a else "B")
    return f"Checked both.\nVERDICT: {verdict}"


def longer_pair_judge(prompt: str) -> str:
    """Prefers the longer answer: verbosity bias, position-free."""
    match = _PAIR.search(prompt)
    assert match, prompt
    a, b = len(match.group(1)), len(match.group(2))
    return f"VERDICT: {'TIE' if a == b else ('A' if a > b else 'B')}"
