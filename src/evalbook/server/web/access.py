"""Who is looking at a page, and the CSRF check of every request that changes something.

A page is served to a signed-in browser (its session cookie, see ``server/sessions.py``)
or, in single-user mode (loopback, no key created), to anyone on this machine as the
``default`` workspace — exactly when the API would serve a request without a key. Else
the browser is sent to the sign-in page.

CSRF: every POST from a page carries a token (the form's ``csrf`` field, or htmx's
``X-CSRF-Token`` header) bound to the session — or, without one, to a random value in
the ``evalbook_csrf`` cookie — and a request whose ``Origin`` (or ``Sec-Fetch-Site``)
shows another site is refused before the token is even read. Single-user mode needs it
as much as keyed mode: any web page the user visits could otherwise post to
``127.0.0.1``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from evalbook.server import sessions
from evalbook.server.auth import keys_exist
from evalbook.server.state import server_state
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, Workspace

__all__ = [
    "CheckedViewer",
    "PageViewer",
    "SignInRequired",
    "Viewer",
    "anonymous_viewer",
    "check_csrf",
    "page_viewer",
    "secure_cookies",
]


class SignInRequired(Exception):
    """Answered with a redirect to ``/signin?next=…`` (see ``install.py``)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class Viewer:
    """The workspace a page shows (``None`` on the sign-in page), whether the browser
    holds a session (it can sign out), and the CSRF token its forms carry."""

    workspace: Workspace | None
    signed_in: bool
    csrf: str
    #: A new anonymous CSRF binding to store in the browser with the response.
    new_binding: str | None = None
    secure: bool = False

    def apply(self, response: Response) -> None:
        if self.new_binding is not None:
            response.set_cookie(
                sessions.ANON_COOKIE,
                self.new_binding,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/",
            )

    @property
    def workspace_name(self) -> str:
        return self.workspace.name if self.workspace else ""


def secure_cookies(request: Request) -> bool:
    """Cookies get ``Secure`` when the browser reached us over https."""
    public = server_state(request).settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _anonymous(request: Request, workspace: Workspace | None) -> Viewer:
    binding = request.cookies.get(sessions.ANON_COOKIE)
    fresh = None
    if not binding or len(binding) > 100:
        binding = fresh = secrets.token_urlsafe(24)
    return Viewer(
        workspace=workspace,
        signed_in=False,
        csrf=sessions.csrf_token("anon:" + binding),
        new_binding=fresh,
        secure=secure_cookies(request),
    )


def anonymous_viewer(request: Request) -> Viewer:
    """The viewer of the sign-in page: no workspace, a CSRF binding of its own."""
    return _anonymous(request, None)


def _resolve(request: Request) -> Viewer:
    state = server_state(request)
    session = sessions.read(request.cookies.get(sessions.SESSION_COOKIE))
    if session is not None:
        workspace = sessions.session_workspace(state.store, session)
        if workspace is not None:
            return Viewer(
                workspace=workspace,
                signed_in=True,
                csrf=sessions.csrf_token("session:" + session.nonce),
                secure=secure_cookies(request),
            )
    if state.settings.single_user_allowed and not keys_exist(state):
        return _anonymous(request, Workspace(DEFAULT_WORKSPACE, DEFAULT_WORKSPACE))
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(path)


async def page_viewer(request: Request) -> Viewer:
    """The viewer of a page (a dependency); not signed in → the sign-in page."""
    return await run_in_threadpool(_resolve, request)


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def check_csrf(request: Request, viewer: Viewer) -> None:
    """Refuse (403) a state-changing request without this viewer's token, or sent from
    another site."""
    if not _same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            token = value if isinstance(value, str) else None
    if token is None or not hmac.compare_digest(token, viewer.csrf):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


async def checked_viewer(
    request: Request, viewer: Annotated[Viewer, Depends(page_viewer)]
) -> Viewer:
    """The viewer of a state-changing request, its CSRF token checked."""
    await check_csrf(request, viewer)
    return viewer


PageViewer = Annotated[Viewer, Depends(page_viewer)]
CheckedViewer = Annotated[Viewer, Depends(checked_viewer)]


def sign_in_url(next_url: str) -> str:
    return "/signin?next=" + quote(next_url, safe="/")
