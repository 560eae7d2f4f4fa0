"""Every page of part 1 loads without a CSP violation, has no serious or critical axe-core
finding, and is saved in light and dark when ``EVALBOOK_SCREENSHOTS`` is set."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.web.harness import WebApp, axe_violations, shoot
from tests.web.suites import board_suite

PAGES = [("dashboard", "/"), ("runs", "/runs"), ("launch", "/runs/new"), ("signin", "/signin"),
         ("not-found", "/runs/no-such-run/card")]  # fmt: skip


@pytest.fixture
def populated(web: WebApp) -> WebApp:
    web.register(board_suite(n=24, latency_ms=0))
    web.register(board_suite("second", n=6, latency_ms=0))
    with web.api() as api:
        ids = []
        for alias, suite in (("baseline", "board"), ("candidate", "board"), (None, "second")):
            body = {"suite_id": suite, "model": web.model(), "alias": alias, "tags": ["nightly"]}
            ids.append(
                api.post("/api/runs", json={k: v for k, v in body.items() if v}).json()["id"]
            )
    web.wait_for(lambda: all(web.store.get_run(i).status.finished for i in ids))
    return web


@pytest.mark.parametrize(("name", "path"), PAGES)
def test_page_is_accessible_and_shot(page: Page, populated: WebApp, name: str, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state(
        "networkidle"
    ) if name != "runs" and name != "dashboard" else page.wait_for_timeout(400)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found = axe_violations(page)
        assert not found, f"{path} ({scheme}):\n" + "\n".join(found)
    shoot(page, name)


def test_shortcuts_overlay_and_theme(page: Page, populated: WebApp) -> None:
    page.goto("/runs")
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Launch a run")
    assert not axe_violations(page)
    shoot(page, "shortcuts", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("t")
    assert page.evaluate("() => document.documentElement.dataset.theme") == "light"
    page.keyboard.press("g")
    page.keyboard.press("d")
    page.wait_for_url(lambda url: url.rstrip("/") == populated.url)


def test_archive_filters_live_in_the_url_and_select_to_compare(
    page: Page, populated: WebApp
) -> None:
    page.goto("/runs")
    page.fill("#f-alias", "candidate")
    page.locator("#f-alias").press("Enter")
    page.wait_for_url(lambda url: "alias=candidate" in url)
    rows = page.locator(".archive-table tbody tr")
    expect(rows).to_have_count(1)
    page.goto("/runs?suite=board")
    expect(rows).to_have_count(2)
    boxes = page.locator("input[name=runs]")
    boxes.nth(0).check()
    compare = page.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    boxes.nth(1).check()
    expect(compare).to_be_enabled()
    first, second = boxes.nth(1).get_attribute("value"), boxes.nth(0).get_attribute("value")
    compare.click()
    page.wait_for_url(lambda url: f"/compare?runs={first},{second}" in url)
    expect(page.locator("[data-metrics]")).to_contain_text("pass rate")
    # The form without its script sends the ids as repeated parameters: the same page.
    page.goto(f"/compare?runs={first}&runs={second}")
    expect(page.locator("table.cmp-runs thead")).to_contain_text("Candidate")
    page.goto("/runs?suite=board")
    page.locator(".archive-table tbody tr").first.get_by_role("button", name="Archive").click()
    expect(
        page.locator(".archive-table tbody tr").first.get_by_role("button", name="Unarchive")
    ).to_be_visible()
    page.goto("/runs?suite=board")
    expect(rows).to_have_count(1)
    page.goto("/runs?suite=board&archived=1")
    expect(rows).to_have_count(1)
