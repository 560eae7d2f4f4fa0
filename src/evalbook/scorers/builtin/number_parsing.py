"""Finding the numbers people write in text (``1,234``, ``-5``, ``1e3``, ``.5``).

Shared by the ``numeric`` scorer and the ``first-number`` / ``last-number`` extractors,
so "the number in the output" means the same thing everywhere.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["find_numbers", "format_number", "to_number"]

# A sign, then 1,234,567 (groups of three) or plain digits, an optional fraction and
# exponent; not glued to a preceding word or dot (``v2``, ``1.2.3`` tails).
_NUMBER = re.compile(
    r"(?<![\w.])([-+\u2212]?)(?=\.?\d)((?:\d{1,3}(?:,\d{3})+(?!\d)|\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)"
)


def find_numbers(text: str) -> list[float]:
    """Every number in ``text``, in order."""
    numbers = []
    for sign, body in _NUMBER.findall(text):
        value = float(body.replace(",", ""))
        numbers.append(-value if sign in ("-", "\u2212") else value)
    return numbers


def to_number(value: Any) -> float | None:
    """``value`` as a number: an int/float, or a string that is exactly one number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        match = _NUMBER.fullmatch(text)
        if match is not None:
            return find_numbers(text)[0]
    return None


def format_number(number: float) -> str:
    """``5.0`` as ``5``, other values as ``repr``: how a number is shown and extracted."""
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
