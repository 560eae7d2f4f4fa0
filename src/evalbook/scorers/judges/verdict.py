"""Reading a judge's verdict out of its reply — from the end, never the first match.

A judge's reply may quote the answer it grades, and an answer can plant
``GRADE: 10`` or ``{"score": 10}`` to steer a careless parser. The templates ask for the
verdict on the final line, so the parser reads from the end: the *last* JSON object that
names every criterion, else the *last* ``criterion: n`` / ``GRADE: n`` line per
criterion. A reply with no verdict, or a grade off the scale, raises
:class:`JudgeVerdictError` — recorded as an error on that score, never a silent 0.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalbook.scorers.judges.prompts import Criterion

__all__ = ["JudgeVerdictError", "PairVerdict", "RubricVerdict", "parse_pair", "parse_rubric"]

_REASON_KEYS = ("reason", "rationale", "explanation", "justification")
_SINGLE_KEYS = ("grade", "score", "rating", "verdict")
_WORDS = {"pass": 1.0, "yes": 1.0, "true": 1.0, "fail": 0.0, "no": 0.0, "false": 0.0}
_NUMBER = r"(?P<value>-?\d+(?:\.\d+)?|pass|fail|yes|no|true|false)(?:\s*/\s*\d+)?"
_PAIR_LINE = re.compile(
    r"^[\W_]*(?:final\s+)?(?:verdict|winner|better|choice)[\W_]*[:=]?\s*\**\s*"
    r"\[?(?P<value>A|B|TIE|EQUAL|SAME|DRAW)\b",
    re.IGNORECASE,
)
_TAIL = 200


class JudgeVerdictError(ValueError):
    """The judge's reply holds no usable verdict (nothing parseable, or off the scale)."""


@dataclass(frozen=True)
class RubricVerdict:
    raw: dict[str, float]
    reason: str | None
    source: str  # "json" | "lines"


@dataclass(frozen=True)
class PairVerdict:
    winner: str  # "A" | "B" | "tie"
    reason: str | None


def parse_rubric(text: str, criteria: Sequence[Criterion]) -> RubricVerdict:
    """Raw grades per criterion (in each criterion's scale) from a judge's reply."""
    names = [c.name for c in criteria]
    found = _last_json(text, names)
    if found is not None:
        raw, reason = found
        verdict = RubricVerdict(raw, reason or _before_last_line(text), "json")
    else:
        raw = {}
        for c in criteria:
            keys = [c.name] + (list(_SINGLE_KEYS) if len(criteria) == 1 else [])
            value = _last_line_value(text, keys)
            if value is None:
                raise JudgeVerdictError(
                    f"no verdict for {c.name!r} in the judge's reply (wanted a final JSON"
                    f" line or '{c.name}: <n>'): …{_tail(text)!r}"
                )
            raw[c.name] = value
        verdict = RubricVerdict(raw, _before_last_line(text), "lines")
    for c in criteria:
        value = verdict.raw[c.name]
        lo, hi = c.scale
        if not math.isfinite(value) or not lo <= value <= hi:
            raise JudgeVerdictError(
                f"the judge graded {c.name!r} {value:g}, outside its scale {lo}–{hi}"
            )
    return verdict


def parse_pair(text: str) -> PairVerdict:
    """``A``, ``B`` or ``tie`` from the last ``VERDICT:`` line (or a final JSON object
    with ``winner``/``verdict``)."""
    for line in reversed(text.strip().splitlines()):
        match = _PAIR_LINE.match(line.strip())
        if match:
            value = match.group("value").upper()
            winner = value if value in ("A", "B") else "tie"
            return PairVerdict(winner, _before_last_line(text))
    found = _last_json(text, ["winner"]) or _last_json(text, ["verdict"])
    if found is not None:
        (value,) = found[0].values()
        return PairVerdict(_pair_word(value, text), found[1])
    raise JudgeVerdictError(f"no 'VERDICT: A|B|TIE' line in the judge's reply: …{_tail(text)!r}")


def _pair_word(value: Any, text: str) -> str:
    word = str(value).strip().upper()
    if word in ("A", "B"):
        return word
    if word in ("TIE", "EQUAL", "SAME", "DRAW"):
        return "tie"
    raise JudgeVerdictError(f"the judge's verdict {value!r} is not A, B or TIE")


def _last_json(text: str, names: Sequence[str]) -> tuple[dict[str, float], str | None] | None:
    """The last JSON object in ``text`` holding every name (or, for one name, a
    ``grade``/``score`` key), as numbers."""
    decoder = json.JSONDecoder()
    starts = [m.start() for m in re.finditer(r"\{", text)]
    for start in reversed(starts):
        try:
            obj, _ = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        lowered = {str(k).lower(): v for k, v in obj.items()}
        values: dict[str, float] = {}
        for name in names:
            keys = [name.lower()] + (list(_SINGLE_KEYS) if len(names) == 1 else [])
            hit = next((lowered[k] for k in keys if k in lowered), None)
            if isinstance(hit, dict):  # {"faithfulness": {"score": 7, "reason": …}}
                hit = next((hit[k] for k in _SINGLE_KEYS if k in hit), None)
            number = _number(hit)
            if number is None:
                break
            values[name] = number
        else:
            reasons = (lowered[k] for k in _REASON_KEYS if isinstance(lowered.get(k), str))
            return values, next(reasons, None)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _WORDS:
            return _WORDS[text]
        try:
            return float(text.split("/")[0])
        except ValueError:
            return None
    return None


def _last_line_value(text: str, keys: Sequence[str]) -> float | None:
    alternatives = "|".join(re.escape(k) for k in keys)
    pattern = re.compile(
        rf"^[\W_]*(?:final\s+)?(?:{alternatives})[\W_]*[:=]\s*\**\s*{_NUMBER}", re.IGNORECASE
    )
    for line in reversed(text.strip().splitlines()):
        match = pattern.match(line.strip())
        if match:
            return _number(match.group("value"))
    return None


def _before_last_line(text: str) -> str | None:
    lines = text.strip().splitlines()
    reason = "\n".join(lines[:-1]).strip()
    return reason[-2000:] or None


def _tail(text: str) -> str:
    return text[-_TAIL:]
