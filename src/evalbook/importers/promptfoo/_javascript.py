"""The one-line ``javascript`` assertions real configs are full of, read as the scorer
they amount to; anything else stays code for the user to port (never run).

``output.includes('x')`` is ``contains``; ``output.toLowerCase().includes('x')`` (``x``
lower case) is ``icontains``; ``output.startsWith('x')`` is ``starts-with``; a leading
``!`` negates; ``output.length < N`` (``<=``, ``>``, ``>=``) is a ``length`` bound in
characters. An optional ``return``, a trailing ``;`` and a ``? 1 : 0`` (or ``? true :
false``) after the condition are allowed (promptfoo passes a score of 1 and fails 0);
``JSON.parse(output).a.b === 'x'`` (or ``output.a.b``: promptfoo's output is an object
when the provider answers JSON) is ``equals`` on that JSON path (``!==``: ``not-equals``;
a number, ``true``, ``false`` or ``null`` is compared as its JSON text, so the string
``'8'`` and the number ``8`` both match ``8``);
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
_PATH = r"(?:\.[A-Za-z_]\w*|\[\d+\])+"
_FIELD_EQUALS = re.compile(
    rf"^(?:JSON\.parse\(\s*output\s*\)(?P<jpath>{_PATH}|)|output(?P<opath>{_PATH}))"
    rf"\s*(?P<op>===|!==|==|!=)\s*(?:{_TEXT}|(?P<lit>-?\d+(?:\.\d+)?|true|false|null))$"
)
_STRING_PROPS = {"length"}
_PASS_FAIL = re.compile(r"^(?P<cond>.+?)\s*\?\s*(?:1|true)\s*:\s*(?:0|false)$")


def javascript_equivalent(code: str) -> tuple[str, Any, list[Any]] | None:
    """``(promptfoo type, value, extractors)`` the code amounts to, or ``None``."""
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
        return ("not-" + kind if found.group("neg") else kind), needle, []
    found = _LENGTH.match(text)
    if found is not None:
        n, op = int(found.group("n")), found.group("op")
        bound = {"<": {"max": n - 1}, "<=": {"max": n}, ">": {"min": n + 1}, ">=": {"min": n}}
        return "_length-chars", bound[op], []
    found = _FIELD_EQUALS.match(text)
    if found is not None:
        path = found.group("jpath") if found.group("opath") is None else found.group("opath")
        first = re.match(r"\.(\w+)", path)
        if first is not None and first.group(1) in _STRING_PROPS and found.group("opath"):
            return None  # output.length is the text's length, not a field
        if found.group("s") is not None:
            want = found.group("s")
        elif found.group("d") is not None:
            want = found.group("d")
        else:
            want = found.group("lit")
        kind = "equals" if found.group("op") in ("===", "==") else "not-equals"
        return kind, want, [{"json-path": "$" + path}]
    return None
