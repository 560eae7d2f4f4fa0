"""The pages' Jinja2 environment and the one way a page is rendered.

Sandboxed and autoescaped like the HTML report's: a prompt or a model's output is
hostile input, and the only way it reaches a page is as escaped text. ``StrictUndefined``
turns a misspelt variable into an error in tests instead of an empty cell in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2.sandbox import ImmutableSandboxedEnvironment

from evalbook._version import __version__
from evalbook.server.web import format as fmt
from evalbook.server.web.access import Viewer
from evalbook.server.web.static_files import static_url

__all__ = ["NAV", "TEMPLATES", "PageEnvironment", "environment", "render"]

TEMPLATES = Path(__file__).with_name("templates")

#: The header's navigation: (key, label, path). A page names its key as ``nav``.
NAV: tuple[tuple[str, str, str], ...] = (
    ("dashboard", "Dashboard", "/"),
    ("runs", "Runs", "/runs"),
    ("experiments", "Experiments", "/experiments"),
    ("compare", "Compare", "/compare"),
    ("suites", "Suites", "/suites"),
    ("prompts", "Prompts", "/prompts"),
    ("judges", "Judges", "/judges"),
)

_ENV: jinja2.Environment | None = None


class PageEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with its verdict on each attribute kept per (type, name).

    Why: the sandbox checks every ``obj.attr`` a template reads, and its checks
    (``jinja2.sandbox.is_internal_attribute``, ``modifies_known_mutable``) ask only
    ``isinstance(obj, …)`` of a few types and ABCs and compare the name: the verdict
    depends on the object's type and the attribute's name, never on the object. Asked
    afresh, the ABC instance checks were the largest part of rendering a page (a runs
    page reads a few hundred attributes). The verdict is the sandbox's own, unchanged."""

    #: The most (type, name) verdicts kept: templates read a bounded set of attributes.
    KEEP = 4096

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            if len(self._verdicts) < self.KEEP:
                self._verdicts[key] = verdict
        return verdict


def environment() -> jinja2.Environment:
    """The shared environment (templates are read once and cached)."""
    global _ENV
    if _ENV is None:
        env = PageEnvironment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.globals.update(static=static_url, nav_items=NAV, version=__version__)
        env.filters.update(fmt.FILTERS)
        _ENV = env
    return _ENV


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: Viewer,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` with ``context`` and what every page shows: who is looking (the
    workspace, whether signed in), the CSRF token for its forms, the current URL."""
    page = {
        "viewer": viewer,
        "csrf": viewer.csrf,
        "path": request.url.path,
        "url": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        "partial": request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true",
    }
    html = environment().get_template(template).render({**page, **context})
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    viewer.apply(response)
    return response
