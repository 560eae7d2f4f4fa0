"""Prompts: sandboxed rendering of prompt versions against cases."""

from evalbook.prompts.render import (
    RESERVED_VARIABLES,
    check_render_limits,
    missing_variables_everywhere,
    render_messages,
    template_context,
)

__all__ = [
    "RESERVED_VARIABLES",
    "check_render_limits",
    "missing_variables_everywhere",
    "render_messages",
    "template_context",
]
