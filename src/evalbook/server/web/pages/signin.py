"""``/signin`` and ``/signout``: a browser trades an API key for a session cookie.

The key is checked and forgotten; the cookie holds a signed session (``server/sessions.py``),
HttpOnly (no script reads it), SameSite=Strict (no other site's request carries it) and
Secure over https.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from evalbook.server import sessions
from evalbook.server.state import server_state
from evalbook.server.web.access import (
    CheckedViewer,
    Viewer,
    anonymous_viewer,
    check_csrf,
    secure_cookies,
)
from evalbook.server.web.templating import render

router = APIRouter()

Anonymous = Annotated[Viewer, Depends(anonymous_viewer)]


def safe_next(value: str | None) -> str:
    """Only a path of this site (``/…``, not ``//host`` or ``/\\host``) is followed."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\r\n\t") or len(value) > 2000:
        return "/"
    return value


def _form(
    request: Request, viewer: Viewer, *, error: str | None, next_url: str, status: int = 200
) -> Response:
    context = {"error": error, "next_url": next_url, "json_url": None, "nav": ""}
    return render(request, "signin.html", context, viewer=viewer, status_code=status)


@router.get("/signin")
def signin_page(request: Request, viewer: Anonymous, next: str | None = None) -> Response:
    return _form(request, viewer, error=None, next_url=safe_next(next))


@router.post("/signin")
async def signin(
    request: Request,
    viewer: Anonymous,
    key: Annotated[str, Form(max_length=300)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    await check_csrf(request, viewer)
    target = safe_next(next)
    found = await run_in_threadpool(sessions.key_of, server_state(request).store, key.strip())
    if found is None:
        return _form(
            request, viewer, error="That key is unknown or revoked.", next_url=target, status=401
        )
    key_id, _workspace = found
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.SESSION_COOKIE,
        sessions.issue(key_id),
        max_age=sessions.SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )
    return response


@router.post("/signout")
def signout(viewer: CheckedViewer) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(sessions.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
