"""Sandboxed Jinja2: templates are data, never code.

One environment for prompts and for templated scorer values: Jinja's immutable sandbox,
``StrictUndefined`` (a missing variable is an error, never an empty string), no globals
but a few pure helpers, no access to the process environment, and the limits of
:mod:`evalbook.core.template_limits` (size and time of a render).

What the user wrote is what is rendered, byte for byte: trailing newlines are kept
(``keep_trailing_newline``). The two whitespace rules that remain apply to block tags
(``{% ... %}``) only, never to text or ``{{ ... }}``: the first newline after a block
tag is removed (``trim_blocks``), and spaces and tabs before a block tag at the start of
a line are removed (``lstrip_blocks``), so a ``{% for %}`` on a line of its own leaves
no blank line behind. ``{%+`` keeps the spaces before a tag; ``+%}`` keeps the newline
after it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from evalbook.core.template_limits import (
    DEFAULT_LIMITS,
    GuardedEnvironment,
    RenderLimitError,
    RenderLimits,
    bounded_globals,
    render_budget,
)
from evalbook.errors import TemplateError

__all__ = [
    "DEFAULT_LIMITS",
    "RenderLimits",
    "compile_template",
    "is_template",
    "render_string",
    "template_variables",
]


def _make_env() -> GuardedEnvironment:
    env = GuardedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()
    # Only pure, harmless helpers; nothing that reads the environment or files.
    env.globals.update(bounded_globals())
    return env


_ENV = _make_env()


@lru_cache(maxsize=4096)
def compile_template(source: str) -> jinja2.Template:
    """Compile once per distinct source; syntax errors become :class:`TemplateError`."""
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}") from exc


_SUBSTITUTION = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
#: Names Jinja reads as literals or operators, never as variables.
_NOT_VARIABLES = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"}
)
#: Values ``{{ name }}`` renders as ``str(value)``; anything else goes through Jinja.
_PLAIN_VALUES = (str, int, float, bool, type(None))


@lru_cache(maxsize=4096)
def _substitutions(source: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """``(texts, names)`` when ``source`` is text with ``{{ name }}`` substitutions only
    (``texts`` has one more item, around the names); ``None`` for anything else."""
    texts: list[str] = []
    names: list[str] = []
    pos = 0
    for match in _SUBSTITUTION.finditer(source):
        texts.append(source[pos : match.start()])
        names.append(match.group(1))
        pos = match.end()
    texts.append(source[pos:])
    for text in texts:
        # Other Jinja syntax, or a carriage return (Jinja's lexer turns \r\n into \n).
        if "{{" in text or "{%" in text or "{#" in text or "\r" in text:
            return None
    if _NOT_VARIABLES.intersection(names):
        return None
    return tuple(texts), tuple(names)


def _substituted(source: str, variables: dict[str, Any], max_chars: int) -> str | None:
    """What Jinja renders for a template of plain ``{{ name }}`` substitutions of
    strings, numbers, booleans or ``None`` (``str`` of each value), without Jinja: most
    prompts are that, and the sandbox's render is a tenth of the CPU of a cached case.
    ``None`` whenever Jinja must decide (other syntax, a missing variable, another type
    of value, an output over the limit, whose error Jinja words)."""
    parsed = _substitutions(source)
    if parsed is None:
        return None
    texts, names = parsed
    out = [texts[0]]
    for name, text in zip(names, texts[1:], strict=True):
        if name not in variables:
            return None
        value = variables[name]
        if not isinstance(value, _PLAIN_VALUES):
            return None
        if type(value) is not str:
            try:
                value = str(value)
            except ValueError:  # an int past Python's digit limit: Jinja's error says so
                return None
        out.append(value)
        out.append(text)
    rendered = "".join(out)
    return rendered if len(rendered) <= max_chars else None


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render_string(
    source: str,
    variables: dict[str, Any],
    *,
    case_id: str | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> str:
    """Render ``source`` with ``variables``; a missing variable names the case and variable.

    The render is bounded by ``limits`` (characters, seconds); going past one is a
    :class:`TemplateError` like any other, so the case errors and nothing else does.
    """
    if not is_template(source):
        if len(source) > limits.max_chars:
            where = f"case {case_id!r}: " if case_id else ""
            why = (
                f"the text is {len(source):,} characters, over the limit of"
                f" {limits.max_chars:,} (EVALBOOK_MAX_PROMPT_CHARS)"
            )
            raise TemplateError(where + why, case_id=case_id) from RenderLimitError(why)
        return source
    fast = _substituted(source, variables, limits.max_chars)
    if fast is not None:
        return fast
    template = compile_template(source)
    try:
        with render_budget(limits):
            return template.render(variables)
    except jinja2.UndefinedError as exc:
        variable = _undefined_name(str(exc))
        where = f"case {case_id!r}: " if case_id else ""
        raise TemplateError(
            f"{where}template variable {variable!r} is undefined"
            f" (case has: {', '.join(sorted(variables)) or 'no variables'})",
            case_id=case_id,
            variable=variable,
        ) from exc
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        where = f"case {case_id!r}: " if case_id else ""
        raise TemplateError(f"{where}template failed to render: {exc}", case_id=case_id) from exc
    except (MemoryError, RecursionError) as exc:
        where = f"case {case_id!r}: " if case_id else ""
        what = "ran out of memory" if isinstance(exc, MemoryError) else "recursed too deeply"
        raise TemplateError(f"{where}template {what} while rendering", case_id=case_id) from exc


def _undefined_name(message: str) -> str:
    # jinja2 says "'name' is undefined" or "'dict object' has no attribute 'x'".
    if "has no attribute" in message:
        return message.rsplit("attribute", 1)[-1].strip(" '\"")
    return message.split("'")[1] if message.count("'") >= 2 else message


def template_variables(source: str) -> set[str]:
    """Top-level variables a template reads (used to fail a run up front)."""
    return set(_variables(source))


@lru_cache(maxsize=1024)
def _variables(source: str) -> frozenset[str]:
    # Parsed once per template text: every launch of a suite checks the same templates.
    from jinja2 import meta

    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}") from exc
