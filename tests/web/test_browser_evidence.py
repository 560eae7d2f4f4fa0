"""A browser-provider run in the inspector: each case shows the page it was read from —
the screenshot (a stored blob, served by the evidence route and decoded by the browser
under the page's CSP), the address and title, the HTML excerpt; an errored case shows
its trace file."""

from __future__ import annotations

from playwright.sync_api import Page, expect

import evalbook
from evalbook.core.run import RunRecord, RunStatus
from evalbook.testing.chat_site import ChatSiteConfig, run_chat_site_in_thread
from tests.providers.browser_sites import answers, browser_suite
from tests.web.harness import WebApp, off_thread, screenshots_dir, shoot


def _browser_run(web: WebApp, **profile: object) -> RunRecord:
    """A run of three cases against the fake chat site, recorded in the app's store.
    (In its own thread: Playwright's sync API holds this one's event loop.)"""
    with run_chat_site_in_thread(ChatSiteConfig(pause_ms=(0.0, 20.0))) as site:
        suite = browser_suite(site, 3, max_pages=1, done={"settle_ms": 100}, **profile)
        return off_thread(lambda: evalbook.run(suite, store=web.store, concurrency=1))


def test_the_inspector_shows_each_cases_screenshot(page: Page, web: WebApp) -> None:
    run = _browser_run(web)
    assert run.status is RunStatus.completed and run.counts.passed == 3
    page.goto(f"/runs/{run.id}?case=case-001")
    case = page.locator("[data-case='case-001']")
    expect(case.locator("details").first).to_have_attribute("open", "")
    shot = case.locator("img.case-shot")
    expect(shot).to_be_visible()
    expect(shot).to_have_attribute("alt", "screenshot of the page for case case-001")
    # Decoded: the route served a PNG and the page's CSP let it in.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shot.element_handle())
    size = shot.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [1280, 900]  # the provider's viewport
    expect(case).to_contain_text("Fake chat")  # the page's title beside its address
    case.locator("summary", has_text="HTML excerpt").click()
    expect(case.locator("details.sub")).to_contain_text(answers(2)[1])
    shoot(page, "inspector-browser-evidence")
    folder = screenshots_dir()
    if folder is not None:  # the case alone, large enough to read
        case.screenshot(path=str(folder / "inspector-browser-case.png"), caret="initial")

    # The link opens the screenshot itself, served as an image, never as a page.
    href = case.locator("a:has(img.case-shot)").get_attribute("href") or ""
    with web.api() as api:
        served = api.get(href)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content.startswith(b"\x89PNG")
    assert served.headers["x-content-type-options"] == "nosniff"


def test_an_errored_case_shows_its_screenshot_and_trace(page: Page, web: WebApp) -> None:
    run = _browser_run(web, input="#no-such-box")  # a config error: the run stops
    assert run.status is RunStatus.failed
    page.goto(f"/runs/{run.id}?case=case-000")
    case = page.locator("[data-case='case-000']")
    expect(case).to_contain_text("'#no-such-box'")
    shot = case.locator("img.case-shot")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shot.element_handle())
    expect(case).to_contain_text("trace:")
    expect(case.locator("p", has_text="trace:")).to_contain_text(".zip")
