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
Calls of one kind joined by ``||`` are ``contains-any`` (``icontains-any`` lower-cased),
by ``&&`` ``contains-all`` (``icontains-all``); ``/re/flags.test(output)`` is ``regex``
(flags ``i``, ``m``, ``s`` as Python's inline flags; ``g``/``y`` change nothing for one
test), when the pattern means the same to Python (no named groups, no ``\\u`` or
``\\c`` escapes, no ``v`` flag). A returned object (``{pass, score, reason}``), other
operators or several statements stay code.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["filter_equivalent", "javascript_equivalent"]

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
_REGEX_TEST = re.compile(
    r"^(?P<neg>!\s*)?/(?P<re>(?:[^/\\\n]|\\.)+)/(?P<flags>[a-z]*)\.test\(\s*output\s*\)$"
)
#: JavaScript regex syntax that Python reads differently (or not at all).
_JS_ONLY = re.compile(r"\(\?<(?![=!])|\\[uckp]|\\[PkK]|\[\^?\]")
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
    for joiner, kind in (("||", "any"), ("&&", "all")):
        joined = _joined(text, joiner, kind) if joiner in text else None
        if joined is not None:
            return joined
    found = _REGEX_TEST.match(text)
    if found is not None:
        return _regex(found)
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


def _joined(text: str, joiner: str, kind: str) -> tuple[str, Any, list[Any]] | None:
    """``output.includes('a') || output.includes('b')`` as ``contains-any`` (``&&``:
    ``-all``); every part the same call, none negated."""
    parts = [p.strip() for p in text.split(joiner)]
    mapped = [javascript_equivalent(p) for p in parts]
    kinds = {m[0] if m is not None else None for m in mapped}
    if len(parts) < 2 or len(kinds) != 1 or not kinds <= {"contains", "icontains"}:
        return None
    (base,) = kinds
    return f"{base}-{kind}", [m[1] for m in mapped if m is not None], []


def _regex(found: re.Match[str]) -> tuple[str, Any, list[Any]] | None:
    pattern, flags = found.group("re"), found.group("flags")
    if _JS_ONLY.search(pattern) or set(flags) - set("gimsy"):
        return None
    inline = "".join(f for f in "ims" if f in flags)
    value = (f"(?{inline})" if inline else "") + pattern
    try:
        re.compile(value)
    except re.error:
        return None
    return ("not-regex" if found.group("neg") else "regex"), value, []


_FILTER = re.compile(
    r"^\s*(?:module\.exports\s*=|export\s+default)\s*"
    r"(?:(?:async\s+)?function\s*\w*\s*\(\s*(?P<a>\w+)\s*\)|\(\s*(?P<b>\w+)\s*\)\s*=>|(?P<c>\w+)\s*=>)"
    r"\s*(?P<body>\{[^{}]*\}|[^{};][^;]*);?\s*$",
    re.S,
)
_FILTER_BODIES = {
    "{x}.toUpperCase()": "upper",
    "{x}.toLowerCase()": "lower",
    "{x}.trim()": "trim",
    "JSON.stringify({x})": "dump",
    "String({x}).toUpperCase()": "upper",
    "String({x}).toLowerCase()": "lower",
}


def filter_equivalent(code: str) -> str | None:
    """The built-in filter a custom Nunjucks filter file amounts to (``module.exports =
    function (s) { return s.toUpperCase(); }`` is ``upper``; ``toLowerCase``, ``trim``,
    ``JSON.stringify`` likewise), or ``None``: anything else is code, never run."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", code, flags=re.S)
    found = _FILTER.match(text)
    if found is None:
        return None
    arg = found.group("a") or found.group("b") or found.group("c")
    body = found.group("body").strip()
    if body.startswith("{"):
        inner = body[1:-1].strip().rstrip(";").strip()
        if not inner.startswith("return "):
            return None
        body = inner[len("return ") :].strip()
    body = re.sub(r"\s+", "", body)
    for shape, name in _FILTER_BODIES.items():
        if body == shape.format(x=arg):
            return name
    return None
