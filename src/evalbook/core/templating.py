"""Sandboxed Jinja2: templates are data, never code.

One environment for prompts and for templated scorer values: ``SandboxedEnvironment``,
``StrictUndefined`` (a missing variable is an error, never an empty string), no globals,
no access to the process environment.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from evalbook.errors import TemplateError


def _make_env() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()
    # Only pure, harmless helpers; nothing that reads the environment or files.
    env.globals.update({"range": range, "len": len, "enumerate": enumerate, "zip": zip})
    return env


_ENV = _make_env()


@lru_cache(maxsize=4096)
def compile_template(source: str) -> jinja2.Template:
    """Compile once per distinct source; syntax errors become :class:`TemplateError`."""
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}") from exc


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render_string(source: str, variables: dict[str, Any], *, case_id: str | None = None) -> str:
    """Render ``source`` with ``variables``; a missing variable names the case and variable."""
    if not is_template(source):
        return source
    template = compile_template(source)
    try:
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
    except jinja2.TemplateError as exc:
        where = f"case {case_id!r}: " if case_id else ""
        raise TemplateError(f"{where}template failed to render: {exc}", case_id=case_id) from exc


def _undefined_name(message: str) -> str:
    # jinja2 says "'name' is undefined" or "'dict object' has no attribute 'x'".
    if "has no attribute" in message:
        return message.rsplit("attribute", 1)[-1].strip(" '\"")
    return message.split("'")[1] if message.count("'") >= 2 else message


def template_variables(source: str) -> set[str]:
    """Top-level variables a template reads (used to fail a run up front)."""
    from jinja2 import meta

    try:
        return set(meta.find_undeclared_variables(_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}") from exc
