"""Rich consoles: results to stdout, progress and diagnostics to stderr; and :func:`shown`,
the one way stored text reaches them."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

__all__ = ["console", "err_console", "escaped", "shown"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

#: C0 and C1 control characters and DEL, each written as its escape (``\x1b``). Rich
#: passes an ESC in a text through to the terminal, where a model's output could clear
#: the screen, retitle the window or rewrite what was printed above it.
_ESCAPED = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
#: The same, with line breaks and tabs as spaces: a table cell or a listing's line.
_ONE_LINE = {**_ESCAPED, 0x09: " ", 0x0A: " ", 0x0D: " "}
#: The same, keeping line breaks and tabs: a block of text (a diff).
_BLOCK = {**_ESCAPED, 0x09: "\t", 0x0A: "\n"}


def escaped(value: object, *, one_line: bool = True) -> str:
    """Text from a suite, a model, a provider or a reviewer (a case id, an output, an
    error, a comment) with its control characters written as escapes; ``one_line``: line
    breaks and tabs as spaces. Printed through :func:`shown`, or as a cell's plain text."""
    text = value if isinstance(value, str) else str(value)
    return text.translate(_ONE_LINE if one_line else _BLOCK)


def shown(value: object, style: str = "", *, one_line: bool = True) -> Text:
    """:func:`escaped` text as it may be printed: never read as Rich markup (``[/]`` in
    an output stopped ``runs show --results`` with an error)."""
    return Text(escaped(value, one_line=one_line), style=style)
