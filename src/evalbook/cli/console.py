"""Rich consoles: results to stdout, progress and diagnostics to stderr; and :func:`shown`,
the one way stored text reaches them."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from evalbook.plain_text import BLOCK, ONE_LINE

__all__ = ["console", "err_console", "escaped", "shown"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def escaped(value: object, *, one_line: bool = True) -> str:
    """Text from a suite, a model, a provider or a reviewer (a case id, an output, an
    error, a comment) with its control characters written as escapes; ``one_line``: line
    breaks and tabs as spaces. Printed through :func:`shown`, or as a cell's plain text."""
    text = value if isinstance(value, str) else str(value)
    return text.translate(ONE_LINE if one_line else BLOCK)


def shown(value: object, style: str = "", *, one_line: bool = True) -> Text:
    """:func:`escaped` text as it may be printed: never read as Rich markup (``[/]`` in
    an output stopped ``runs show --results`` with an error)."""
    return Text(escaped(value, one_line=one_line), style=style)
