"""Reading what a model wrote: code in Markdown fences, JSON in a reply.

Models wrap code in a fence (```` ```json ... ``` ````, ```` ```sql ````) or put JSON in
the middle of a sentence. The structured checks and the extractors look at what a caller
would parse, so they share these readers.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

__all__ = ["find_json", "parse_json_output", "unfence"]

_DECODER = json.JSONDecoder()
_OPENERS = re.compile(r"[\[{]")
#: How many opening brackets ``find_json`` tries before giving up (bounds the work on a
#: long output full of brackets that never form JSON).
MAX_JSON_STARTS = 1000


@cache
def _fence(languages: tuple[str, ...]) -> re.Pattern[str]:
    tags = "|".join(re.escape(lang) for lang in languages)
    return re.compile(rf"```[ \t]*(?i:{tags})?[ \t]*\r?\n(.*?)\r?\n?[ \t]*```", re.DOTALL)


def unfence(text: str, languages: tuple[str, ...]) -> str:
    """The first fenced block tagged with one of ``languages`` (or untagged), stripped;
    ``text`` stripped when there is none."""
    text = text.strip()
    fence = _fence(languages).search(text)
    return fence.group(1).strip() if fence is not None else text


def parse_json_output(output: str | None) -> tuple[Any, str | None]:
    """``(value, None)`` when ``output`` (or its first fenced block) is JSON, else
    ``(None, reason)``."""
    text = unfence(output or "", ("json",))
    if not text:
        return None, "output is empty"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def find_json(text: str, containers: tuple[type, ...] = (dict, list)) -> tuple[Any, int, int]:
    """The first JSON object or array embedded in ``text``, as ``(value, start, end)``;
    ``(None, -1, -1)`` when there is none.

    Tries each ``{`` / ``[`` in order with :meth:`json.JSONDecoder.raw_decode`, which
    stops at the end of the value, so text after it does not matter. ``containers``
    narrows what counts (``(dict,)`` for objects only).
    """
    for tried, match in enumerate(_OPENERS.finditer(text)):
        if tried >= MAX_JSON_STARTS:
            break
        start = match.start()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, containers):
            return value, start, end
    return None, -1, -1
