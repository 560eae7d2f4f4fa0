"""Sign-in, sessions, CSRF, CSP and workspace scoping in a real browser, and hostile
model output rendered inert."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from evalbook.server import sessions
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key
from tests.web.harness import VIEWPORT, WebApp, shoot, web_app
from tests.web.suites import HOSTILE, board_suite, hostile_suite


@pytest.fixture
def keyed(web_store: Store, server: Any) -> Iterator[tuple[WebApp, str, str]]:
    """A server with keys for two workspaces: (app, key of team-a, key of team-b)."""
    key_a, _ = create_key(web_store, "team-a")
    key_b, _ = create_key(web_store, "team-b")
    with web_app(web_store, server.base_url) as app:
        yield app, key_a, key_b


def _sign_in(page: Page, key: str) -> None:
    page.goto("/")
    assert "/signin" in page.url
    page.fill("#key", key)
    page.get_by_role("button", name="Sign in").click()


def _run(app: WebApp, key: str, suite_id: str) -> str:
    with app.api({"Authorization": f"Bearer {key}"}) as api:
        run = api.post("/api/runs", json={"suite_id": suite_id, "model": app.model()}).json()
    app.wait_for(lambda: app.store.get_run(run["id"]).status.finished)
    return str(run["id"])


def test_sign_in_session_cookie_and_sign_out(
    browser: Browser, keyed: tuple[WebApp, str, str]
) -> None:
    app, key_a, _ = keyed
    context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
    page = context.new_page()
    page.goto("/runs?status=completed")
    assert "/signin?next=/runs" in page.url
    shoot(page, "signin")
    page.fill("#key", "ek_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".alert-error")).to_contain_text("unknown or revoked")
    page.fill("#key", key_a)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.endswith("/runs?status=completed"))
    expect(page.locator(".workspace")).to_contain_text("team-a")
    cookie = next(c for c in context.cookies() if c["name"] == sessions.SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert key_a not in cookie["value"] and key_a[3:] not in cookie["value"]
    assert page.evaluate("() => document.cookie").find(sessions.SESSION_COOKIE) == -1
    # The session reads the API's JSON twins (GET) but cannot write with the cookie alone.
    assert page.request.get(app.url + "/api/dashboard").status == 200
    assert page.request.post(app.url + "/api/runs", data={}).status == 401
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/signin" in url)
    page.goto("/")
    assert "/signin" in page.url
    context.close()


def test_revoking_the_key_ends_its_sessions(
    browser: Browser, keyed: tuple[WebApp, str, str]
) -> None:
    app, key_a, _ = keyed
    context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
    page = context.new_page()
    _sign_in(page, key_a)
    expect(page.locator("h1")).to_have_text("Dashboard")
    from evalbook.storage.workspaces import revoke_key

    revoke_key(app.store, key_a[:10])
    page.goto("/runs")
    assert "/signin" in page.url
    context.close()


def test_another_workspace_run_answers_404_in_the_browser(
    browser: Browser, keyed: tuple[WebApp, str, str]
) -> None:
    app, key_a, key_b = keyed
    app.register(board_suite(n=3, latency_ms=0), workspace="team-b")
    theirs = _run(app, key_b, "board")
    context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
    page = context.new_page()
    _sign_in(page, key_a)
    for path in (
        f"/runs/{theirs}",
        f"/runs/{theirs}?failed=1",
        f"/runs/{theirs}/card",
        f"/runs/new?from={theirs}",
        f"/api/runs/{theirs}",
        f"/api/runs/{theirs}/report",
        "/suites/board",
        "/prompts/board-prompt",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    page.goto(f"/runs/{theirs}")
    expect(page.locator("h1")).to_contain_text("Not found")
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    for action in ("review", "cancel", "resume", "failures-suite", "archive"):
        form = {"csrf": token, "case_id": "c0", "score": "1"}
        answer = page.request.post(app.url + f"/runs/{theirs}/{action}", form=form)
        assert answer.status == 404, action
    assert app.store.get_run(theirs).feedback_scores is None
    page.goto("/runs")
    expect(page.locator(f'[data-run="{theirs}"]')).to_have_count(0)
    assert theirs not in page.content()
    context.close()


def test_csrf_and_csp(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=2))
    response = page.goto("/runs/new")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    form = {"provider": "openai-compatible", "model_name": "m", "suite": "board@1"}
    # No token, a wrong token, another site's origin: refused, nothing launched.
    assert page.request.post(web.url + "/runs/new", form=form).status == 403
    assert page.request.post(web.url + "/runs/new", form={**form, "csrf": "x"}).status == 403
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    evil = {"Origin": "http://evil.example"}
    assert (
        page.request.post(web.url + "/runs/new", form={**form, "csrf": token}, headers=evil).status
        == 403
    )
    # A plain client without the browser's cookie cannot reuse the token either.
    assert httpx.post(web.url + "/runs/new", data={**form, "csrf": token}).status_code == 403
    assert web.store.list_runs() == []
    # No inline script or style on the page (the CSP would refuse them).
    inline = page.evaluate(
        """() => [...document.scripts].filter(s => !s.src).length
                + document.querySelectorAll('[style]').length
                + document.querySelectorAll('style').length"""
    )
    assert inline == 0


def test_hostile_model_output_renders_inert(page: Page, web: WebApp) -> None:
    web.register(hostile_suite())
    with web.api() as api:
        body = {"suite_id": "hostile", "model": web.model()}
        run_id = api.post("/api/runs", json=body).json()["id"]
    page.goto("/runs")
    card = page.locator(f'[data-run="{run_id}"]')
    expect(card).to_be_visible()
    expect(card.locator("[data-status]").first).to_have_text("completed", timeout=30_000)
    web.wait_for(lambda: web.store.get_run(run_id).status.finished)
    for path in ("/", "/runs"):
        page.goto(path)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.pwned") is None
        assert page.locator("a[href^='javascript:'], svg[onload], img[onerror]").count() == 0
        expect(page.locator("body")).to_contain_text("<script>window.pwned=5</script> suite")
    # The live card shows an answer as text while the run streams.
    page.goto("/runs")
    with web.api() as api:
        run2 = api.post(
            "/api/runs",
            # One case at a time: the run streams for a few seconds, long enough for the
            # board to receive its events even on a loaded machine.
            json={
                "suite_id": "hostile",
                "model": web.model(),
                "use_cache": False,
                "concurrency": 1,
            },
        ).json()["id"]
    card2 = page.locator(f'[data-run="{run2}"]')
    expect(card2).to_be_visible()
    shown = page.wait_for_function(
        """(id) => {
            const el = document.querySelector(`[data-run="${id}"] [data-last-answer]`);
            return el && el.textContent ? el.textContent : null;
        }""",
        arg=run2,
        timeout=30_000,
    ).json_value()
    shoot(page, "hostile-output")
    assert page.evaluate("() => window.pwned") is None
    texts = set(HOSTILE) | {("A<b>" * 50)}
    assert any(shown.startswith(t[:20]) for t in texts), shown
    assert card2.locator("[data-last-answer] *").count() == 0  # text, not markup


def test_a_link_from_another_site_keeps_the_session(
    browser: Browser, keyed: tuple[WebApp, str, str]
) -> None:
    """SameSite=Strict withholds the cookie on a navigation from another site; the page
    reloads itself once from here, and a signed-in browser lands where the link pointed."""
    app, key_a, _ = keyed
    context = browser.new_context(base_url=app.url, viewport=VIEWPORT)
    page = context.new_page()
    _sign_in(page, key_a)
    expect(page.locator("h1")).to_have_text("Dashboard")
    target = app.url + "/runs?status=completed"
    # Another site (localhost is not 127.0.0.1's site), answered by the browser itself.
    elsewhere = "http://localhost:1/pull/1"
    page.route(
        elsewhere,
        lambda route: route.fulfill(
            content_type="text/html", body=f'<a id="go" href="{target}">the run</a>'
        ),
    )
    page.goto(elsewhere)
    page.click("#go")
    page.wait_for_url(lambda url: url.endswith("/runs?status=completed"))
    expect(page.locator("h1")).to_have_text("Runs")
    context.close()
