"""Stored and received text as it may reach a terminal or a log: control characters
written as their escapes.

A model's output, an endpoint's error body, a case id: any of them may hold an ESC
sequence that clears a screen, retitles a window or rewrites what was printed above it,
and a line break that forges a log line of its own. The CLI prints such text through
``cli.console.shown``; every evalbook logger is made by :func:`get_logger`, whose records
are escaped before any handler (Rich, a plain stream, Celery's) formats them.
"""

from __future__ import annotations

import logging

__all__ = ["BLOCK", "ESCAPED", "ONE_LINE", "get_logger"]

#: C0 and C1 control characters and DEL, each written as its escape (``\x1b``).
ESCAPED = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
#: The same, with line breaks and tabs as spaces: a table cell or a listing's line.
ONE_LINE = {**ESCAPED, 0x09: " ", 0x0A: " ", 0x0D: " "}
#: The same, keeping line breaks and tabs: a block of text (a diff, a traceback).
BLOCK = {**ESCAPED, 0x09: "\t", 0x0A: "\n"}
#: A log message: one line, its breaks written as escapes (a record cannot pass for
#: two), tabs kept.
_LOG_LINE = {**ESCAPED, 0x09: "\t"}


class _EscapedRecords(logging.Filter):
    """Writes a record's message (its arguments put in) and its traceback with their
    control characters escaped, once, before handlers see it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or not isinstance(record.msg, str):
            record.msg = record.getMessage()
            record.args = None
        record.msg = record.msg.translate(_LOG_LINE)
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info).translate(BLOCK)
        elif record.exc_text:
            record.exc_text = record.exc_text.translate(BLOCK)
        if record.stack_info:
            record.stack_info = record.stack_info.translate(BLOCK)
        return True


_FORMATTER = logging.Formatter()
_FILTER = _EscapedRecords()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, its records' text escaped (see the module)."""
    logger = logging.getLogger(name)
    logger.addFilter(_FILTER)  # (added once: the same filter is not added twice)
    return logger
