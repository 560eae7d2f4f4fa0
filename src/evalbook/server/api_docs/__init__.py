"""The interactive API docs at ``/docs``, served entirely by the server.

FastAPI's default page loads Swagger UI from a CDN, so it is blank without internet. Here
the page, its script and stylesheet come from ``assets/`` (Swagger UI, vendored and pinned:
see ``assets/VENDORED.md``), and the page starts Swagger UI from a file rather than an
inline script, so it keeps a strict content security policy.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "SWAGGER_UI_VERSION", "router"]

SWAGGER_UI_VERSION = "5.35.0"
ASSETS = Path(__file__).with_name("assets")
#: The files a browser may fetch from ``/docs/assets/``, with their media types.
_SERVED = {
    f"swagger-ui-bundle-{SWAGGER_UI_VERSION}.js": "text/javascript; charset=utf-8",
    f"swagger-ui-{SWAGGER_UI_VERSION}.css": "text/css; charset=utf-8",
    "start.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
#: Swagger UI sets inline styles, so styles may be inline; scripts may not.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui-{version}.css">
<link rel="stylesheet" href="/docs/assets/docs.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs/assets/swagger-ui-bundle-{version}.js"></script>
<script src="/docs/assets/start.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI for this server's OpenAPI document."""
    app = request.app
    html = _PAGE.format(
        title=app.title, version=SWAGGER_UI_VERSION, openapi_url=app.openapi_url or ""
    )
    return HTMLResponse(html, headers={"content-security-policy": CSP})


@router.get("/docs/assets/{name}")
def api_docs_asset(name: str) -> FileResponse:
    media_type = _SERVED.get(name)
    if media_type is None:
        raise HTTPException(404, f"no such file: {name}")
    # The versioned names change with the content; the small files are re-checked daily.
    max_age = 31536000 if SWAGGER_UI_VERSION in name else 86400
    headers = {"cache-control": f"public, max-age={max_age}"}
    return FileResponse(ASSETS / name, media_type=media_type, headers=headers)
