"""``/docs`` in a browser with no way out: Swagger UI renders from the server's own files."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from tests.web.harness import WebApp


def test_api_docs_render_offline(page: Page, web: WebApp) -> None:
    own = urlsplit(web.url).netloc
    requested: list[str] = []

    def only_this_server(route: Route) -> None:
        requested.append(route.request.url)
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_this_server)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("evalbook", timeout=30_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/runs").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert requested and all(urlsplit(u).netloc == own for u in requested), requested
