"""Text that must be sent as written, inside fields evalbook renders as Jinja."""

from __future__ import annotations

import re

__all__ = ["as_sent"]

_JINJA = ("{{", "{%", "{#")
_OPENER = re.compile(r"\{[{%#]")


def as_sent(text: str) -> str:
    """``text`` as a template that renders to exactly ``text``: case messages are
    templates, so each Jinja opener is written as an expression printing it
    (``{{ '{{' }}``), which leaves the whitespace around it untouched."""
    if not any(mark in text for mark in _JINJA):
        return text
    return _OPENER.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)
