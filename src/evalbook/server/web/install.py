"""Mount the web workspace on the API's app: static files, the pages' routers, security
headers on every response, and HTML error pages for browsers."""

from __future__ import annotations

import html
import inspect
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalbook.errors import EvalbookError, NotFoundError
from evalbook.server.web.access import SignInRequired, Viewer, anonymous_viewer, sign_in_url
from evalbook.server.web.pages import PAGES
from evalbook.server.web.static_files import CachedStatic

__all__ = ["CSP", "SecurityHeaders", "install_web", "is_page_path"]

#: No inline script or style, nothing from another host, no framing, forms post here only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}


def is_page_path(path: str) -> bool:
    """Whether a path is a page (answered in HTML) rather than the API or a file."""
    return not path.startswith(("/api/", "/static/", "/openapi.json", "/docs"))


class SecurityHeaders:
    """Adds the CSP and the other security headers to every response (pure ASGI, so event
    streams pass through unbuffered). A response that sets its own CSP keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in _HEADERS.items():
                    if name not in present:
                        headers.append((name, value))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_BOUNCE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta http-equiv="refresh" content="0; url={url}"><title>evalbook</title></head>'
    '<body><p><a href="{url}">Continue to evalbook</a></p></body></html>'
)


def _error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    from evalbook.server.web.templating import render

    viewer: Viewer
    try:
        from evalbook.server.web.access import _resolve

        viewer = _resolve(request)
    except Exception:
        viewer = anonymous_viewer(request)
    context = {"status": status, "title": title, "detail": detail, "json_url": None, "nav": ""}
    return render(request, "error.html", context, viewer=viewer, status_code=status)


_TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
}


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


def install_web(app: FastAPI) -> None:
    """Add the pages to ``app`` (after the API's routers and error handlers)."""
    app.mount("/static", CachedStatic(), name="static")
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
    api_error = app.exception_handlers.get(EvalbookError)
    api_invalid = app.exception_handlers.get(RequestValidationError)

    async def on_error(request: Request, exc: Exception) -> Response:
        if is_page_path(request.url.path) and isinstance(exc, EvalbookError):
            status = 404 if isinstance(exc, NotFoundError) else 422
            return _error_page(request, status, _TITLES[status], str(exc))
        assert api_error is not None
        return await _call(api_error, request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_page_path(request.url.path):
            title = _TITLES.get(exc.status_code, "Error")
            detail = exc.detail if isinstance(exc.detail, str) else title
            return _error_page(request, exc.status_code, title, detail)
        headers: dict[str, Any] = dict(exc.headers or {})
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        if is_page_path(request.url.path):
            return _error_page(request, 422, _TITLES[422], "the address has an invalid value")
        assert api_invalid is not None
        return await _call(api_invalid, request, exc)

    async def on_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = sign_in_url(exc.next_url)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        if request.headers.get("sec-fetch-site") == "cross-site" and not request.cookies:
            # A link from another site (a pull request, a chat): the SameSite=Strict
            # cookie is withheld on that first navigation. Reload from here once; the
            # cookie comes along, and only then is the sign-in page the answer.
            return HTMLResponse(_BOUNCE.format(url=html.escape(exc.next_url, quote=True)))
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(EvalbookError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(SignInRequired, on_sign_in)
    app.add_middleware(SecurityHeaders)
