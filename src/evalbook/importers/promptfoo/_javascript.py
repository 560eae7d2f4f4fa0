"""The one-line ``javascript`` assertions real configs are full of, read as the scorer
they amount to; anything else stays code for the user to port (never run).

``output.includes('x')`` is ``contains``; ``output.toLowerCase().includes('x')`` (``x``
lower case) is ``icontains``; ``output.startsWith('x')`` is ``starts-with``; a leading
``!`` negates; ``output.length < N`` (``<=``, ``>``, ``>=``) is a ``length`` bound in
characters. An optional ``return``, a trailing ``;`` and a ``? 1 : 0`` (or ``? true :
false``) after the condition are allowed (promptfoo passes a score of 1 and fails 0);
the quoted text may not hold its quote or a backslash (those are left as code).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["javascript_equivalent"]

_TEXT = r"""(?:'(?P<s>[^'\\]*)'|"(?P<d>[^"\\]*)")"""
_CALL = re.compile(
    rf"^(?P<neg>!\s*)?output(?P<lower>\.toLowerCase\(\))?\.(?P<fn>includes|startsWith)"
    rf"\(\s*{_TEXT}\s*\)$"
)
_LENGTH = re.compile(r"^output\.length\s*(?P<op><=|>=|<|>)\s*(?P<n>\d+)$")
_PASS_FAIL = re.compile(r"^(?P<cond>.+?)\s*\?\s*(?:1|true)\s*:\s*(?:0|false)$")


def javascript_equivalent(code: str) -> tuple[str, Any] | None:
    """``(promptfoo type, value)`` the code amounts to, or ``None``."""
    text = code.strip()
    if text.startswith("return "):
        text = text[len("return ") :].strip()
    text = text.rstrip(";").strip()
    if "\n" in text:
        return None
    ternary = _PASS_FAIL.match(text)
    if ternary is not None:
        text = ternary.group("cond").strip()
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1].strip()
    found = _CALL.match(text)
    if found is not None:
        needle = found.group("s") if found.group("s") is not None else found.group("d")
        if found.group("lower"):
            if found.group("fn") != "includes" or needle != needle.lower():
                return None
            kind = "icontains"
        else:
            kind = "contains" if found.group("fn") == "includes" else "starts-with"
        return ("not-" + kind if found.group("neg") else kind), needle
    found = _LENGTH.match(text)
    if found is not None:
        n, op = int(found.group("n")), found.group("op")
        bound = {"<": {"max": n - 1}, "<=": {"max": n}, ">": {"min": n + 1}, ">=": {"min": n}}
        return "_length-chars", bound[op]
    return None
