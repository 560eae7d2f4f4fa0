"""``/docs``: the API docs page and every file it loads come from the server (offline)."""

from __future__ import annotations

import hashlib
import re

import httpx

from evalbook.server.api_docs import ASSETS, SWAGGER_UI_VERSION


async def test_docs_page_loads_only_its_own_files(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'self'" in csp
    html = page.text
    assert "<script>" not in html and "http" not in html  # no inline script, no other host
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/docs/assets/") for u in urls), urls
    assert f"/docs/assets/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js" in urls
    assert 'data-openapi-url="/openapi.json"' in html

    pinned = (ASSETS / "VENDORED.md").read_text()
    for url in urls:
        served = await api.get(url)
        assert served.status_code == 200, url
        assert served.headers["cache-control"].startswith("public, max-age="), url
        name = url.rsplit("/", 1)[1]
        assert served.content == (ASSETS / name).read_bytes()
        if name.startswith("swagger-ui") or name.startswith("favicon"):
            assert hashlib.sha256(served.content).hexdigest() in pinned, name
    bundle = await api.get(f"/docs/assets/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js")
    assert bundle.headers["content-type"].startswith("text/javascript")


async def test_docs_serves_nothing_else(api: httpx.AsyncClient) -> None:
    refused = ("VENDORED.md", "__init__.py", "..%2F__init__.py", "swagger-ui-LICENSE.txt")
    for path in (f"/docs/assets/{name}" for name in refused):
        assert (await api.get(path)).status_code == 404, path
    assert (await api.get("/redoc")).status_code == 404  # ReDoc would need a CDN too
