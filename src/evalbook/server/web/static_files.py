"""The pages' CSS, JavaScript and vendored files, served by the app itself (no CDN: the
workspace works offline).

A page links ``static("css/base.css")`` → ``/static/css/base.css?v=<hash>``: the content
hash in the URL lets the browser keep the file for a year (``immutable``), and a new
release changes the URL. A request without the current hash is answered with
``no-cache``, so nothing stale sticks.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["STATIC", "CachedStatic", "static_url"]

STATIC = Path(__file__).with_name("static")
_YEAR = 365 * 24 * 3600


@functools.lru_cache(maxsize=256)
def _digest(path: str) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """The URL of a static file, with its content hash."""
    return f"/static/{path}?v={_digest(path)}"


class CachedStatic(StaticFiles):
    """Static files with cache headers (and ``nosniff``: a file is what its name says)."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC, follow_symlink=False)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        query = scope.get("query_string", b"").decode()
        wanted = query.removeprefix("v=") if query.startswith("v=") else None
        try:
            current = _digest(path) if response.status_code == 200 else None
        except OSError:
            current = None
        if current is not None and wanted == current:
            response.headers["Cache-Control"] = f"public, max-age={_YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
