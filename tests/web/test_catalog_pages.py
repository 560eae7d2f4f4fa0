"""Suites and prompts pages in a real browser: versions, cases paged, a prompt's diff
between two versions, its run history and pass-rate sparkline (a point opens its run)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.harness import WebApp, axe_violations, shoot
from tests.web.suites import board_suite


def _suite() -> dict[str, object]:
    data = board_suite(n=60, latency_ms=0)
    data["prompt"] = {
        "name": "board-prompt",
        "versions": {
            1: {"template": "Answer briefly: {{ q }}"},
            2: {"system": "You are <b>careful</b>.", "template": "Answer in one word: {{ q }}"},
        },
    }
    return data


def _run(web: WebApp, version: int) -> str:
    with web.api() as api:
        body = {"suite_id": "board", "model": web.model(), "prompt_version": version}
        answer = api.post("/api/runs", json=body)
        assert answer.status_code == 202, answer.text
    run_id = str(answer.json()["id"])
    web.wait_for(lambda: web.store.get_run(run_id).status.finished)
    return run_id


def test_suites_list_and_suite_page(page: Page, web: WebApp) -> None:
    web.register(_suite())
    run_id = _run(web, 1)
    page.goto("/suites")
    row = page.locator("table.data tbody tr", has_text="board")
    expect(row).to_contain_text("Board suite")
    expect(row).to_contain_text("60")
    shoot(page, "suites")
    assert axe_violations(page) == []
    row.get_by_role("link", name="board", exact=True).click()
    expect(page).to_have_url(re.compile(r"/suites/board$"))
    expect(page.locator("h1")).to_contain_text("Board suite")
    cases = page.locator("table.cases-table tbody tr")
    expect(cases).to_have_count(50)
    expect(page.locator("#cases-h + span, .section-head .muted").last).to_contain_text("1–50 of 60")
    expect(page.locator("#runs-h").locator("..")).to_contain_text(run_id[:8])
    assert page.locator("footer .json-twin").get_attribute("href") == (
        "/api/suites/board/versions/1/cases"
    )
    shoot(page, "suite")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Next →").click()
    expect(cases).to_have_count(10)
    expect(cases.first).to_contain_text("c50")
    with web.api() as api:
        twin = api.get("/api/suites/board/versions/1/cases", params={"offset": 50}).json()
    assert [c["id"] for c in twin["items"]][:1] == ["c50"] and twin["total"] == 60
    assert page.goto("/suites/nope") is not None
    expect(page.locator("h1")).to_have_text("Not found")


def test_prompt_page_diff_history_and_trend(page: Page, web: WebApp) -> None:
    web.register(_suite())
    runs = [_run(web, 1), _run(web, 1), _run(web, 2)]
    page.goto("/prompts")
    expect(page.locator("table.data")).to_contain_text("board-prompt")
    shoot(page, "prompts")
    page.get_by_role("link", name="board-prompt").click()
    expect(page.locator("h1")).to_have_text("board-prompt")
    diff = page.locator("[data-diff]")
    expect(diff.locator("ins").first).to_be_visible()
    assert "one word" in " ".join(diff.locator("ins").all_text_contents())
    assert "briefly" in " ".join(diff.locator("del").all_text_contents())
    # The system message is shown as text, never as markup.
    expect(diff).to_contain_text("<b>careful</b>")
    assert diff.locator("b").count() == 0
    history = page.locator("#history table tbody tr")
    expect(history).to_have_count(3)
    points = page.locator("[data-trend-point]")
    expect(points).to_have_count(3)
    shoot(page, "prompt")
    assert axe_violations(page) == []
    # Any two versions: the same version shows it whole.
    page.goto("/prompts/board-prompt?a=2&b=2")
    expect(page.locator("[data-diff]")).to_have_count(0)
    # A point of the sparkline opens its run (oldest first).
    page.goto("/prompts/board-prompt")
    points.first.click()
    page.wait_for_url(re.compile(rf"/runs/{runs[0]}$"))
    expect(page.locator("h1")).to_contain_text("Board suite")


def test_prompt_history_pages(page: Page, web: WebApp) -> None:
    from evalbook.server.web.pages import prompts

    web.register(_suite())
    for _ in range(3):
        _run(web, 1)
    original = prompts.RUNS
    prompts.RUNS = 2
    try:
        page.goto("/prompts/board-prompt")
        history = page.locator("#history table tbody tr")
        expect(history).to_have_count(2)
        page.get_by_role("link", name="Older →").click()
        expect(history).to_have_count(1)
        expect(page).to_have_url(re.compile(r"cursor="))
    finally:
        prompts.RUNS = original
