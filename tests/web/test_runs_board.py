"""The runs board and launch sheet in a real browser: launch from the sheet, watch the
grid fill live over one event stream, resume a dropped stream without losing a cell."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from evalbook.storage.store import Store
from tests.web.harness import BOTH_DATABASES, WebApp, shoot, web_app
from tests.web.suites import board_suite

pytestmark = BOTH_DATABASES


def _cells(page: Page, run_id: str) -> dict[str, int]:
    states: dict[str, int] = page.evaluate(
        """(id) => {
            const out = {};
            document.querySelectorAll(`[data-run="${id}"] .cell`).forEach(c => {
                const s = [...c.classList].find(k => k.startsWith('c-') && k !== 'c-now');
                out[s] = (out[s] || 0) + 1;
            });
            return out;
        }""",
        run_id,
    )
    return states


def _settled(states: dict[str, int], total: int) -> bool:
    return sum(states.get(k, 0) for k in ("c-passed", "c-failed", "c-error")) == total


def test_launch_from_the_sheet_and_watch_the_grid_fill_live(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=48, latency_ms=150))
    page.goto("/runs/new")
    page.select_option("#l-provider", "openai-compatible")
    page.fill("#l-model_name", "test-model")
    page.fill("#l-base_url", web.model_url)
    page.select_option("#l-suite", "board@1")
    page.fill("#l-concurrency", "4")
    page.fill("#l-alias", "candidate")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("48 cases", timeout=10_000)
    expect(estimate).to_contain_text("openai-compatible:test-model")
    shoot(page, "launch-sheet")
    page.get_by_role("button", name="Launch run").click()
    page.wait_for_url(re.compile(r"/runs\?launched="))
    run_id = page.url.split("launched=")[1].split("#")[0]
    card = page.locator(f'[data-run="{run_id}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("openai-compatible:test-model")
    expect(card).to_contain_text("board-prompt v1")

    seen_partial = False
    states: dict[str, int] = {}
    for _ in range(600):
        states = _cells(page, run_id)
        done = sum(states.get(k, 0) for k in ("c-passed", "c-failed", "c-error"))
        if not seen_partial and 12 <= done < 40:
            seen_partial = True
            shoot(page, "runs-board-live", full_page=False)
        if done == 48:
            break
        page.wait_for_timeout(50)
    assert seen_partial, "the grid never showed a run in progress"
    assert states == {"c-passed": 46, "c-failed": 1, "c-error": 1}, states
    cell = card.locator('.cell[data-i="3"]')
    expect(cell).to_have_class(re.compile("c-failed"))
    expect(card.locator('.cell[data-i="5"]')).to_have_class(re.compile("c-error"))
    expect(card.locator('[data-count="passed"]')).to_have_text("46")
    expect(card.locator("[data-status]").first).to_have_text("completed", timeout=10_000)
    shoot(page, "runs-board")
    # The cell opens the item in the inspector; the card's title opens the run.
    assert cell.get_attribute("href") == f"/runs/{run_id}?case=c3&epoch=0"
    assert card.get_by_role("link", name="Open").get_attribute("href") == f"/runs/{run_id}"
    assert card.get_by_role("link", name="Re-run with changes").get_attribute("href") == (
        f"/runs/new?from={run_id}"
    )
    page.goto(f"/runs/new?from={run_id}")
    expect(page.locator("#l-alias")).to_have_value("candidate")
    expect(page.locator("#l-suite")).to_have_value("board@1")
    expect(page.locator("#l-concurrency")).to_have_value("4")


def test_launch_sheet_names_the_field_in_error(page: Page, web: WebApp) -> None:
    web.register(board_suite())
    page.goto("/runs/new")
    page.select_option("#l-provider", "openai-compatible")
    page.select_option("#l-suite", "board@1")
    page.get_by_role("button", name="Launch run").click()
    expect(page.locator("#e-model_name")).to_contain_text("exact model name")
    expect(page.locator("#l-model_name")).to_have_attribute("aria-invalid", "true")
    page.fill("#l-model_name", "test-model")
    page.fill("#l-base_url", web.model_url)
    page.fill("#l-prompt_version", "7")
    page.get_by_role("button", name="Launch run").click()
    expect(page.locator("#e-prompt_version")).to_contain_text("7")
    shoot(page, "launch-sheet-errors")


def test_a_dropped_stream_resumes_without_losing_cells(
    browser: Any, web_store: Store, server: Any
) -> None:
    """The server closes the workspace stream every 0.3 s; the board reconnects with
    Last-Event-ID each time and still ends with every cell right."""
    with web_app(web_store, server.base_url, stream_max_s=0.3) as app:
        app.register(board_suite(n=40, latency_ms=150))
        context = browser.new_context(base_url=app.url, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        requests: list[Any] = []
        page.on("request", lambda r: requests.append(r) if "/api/events" in r.url else None)
        page.goto("/runs")
        with app.api() as api:
            body = {"suite_id": "board", "model": app.model(), "concurrency": 2}
            run_id = api.post("/api/runs", json=body).json()["id"]
        card = page.locator(f'[data-run="{run_id}"]')
        expect(card).to_be_visible(timeout=15_000)
        for _ in range(900):
            if _settled(_cells(page, run_id), 40):
                break
            page.wait_for_timeout(50)
        states = _cells(page, run_id)
        expected = {"c-passed": 38, "c-failed": 1, "c-error": 1}
        assert states == expected, states
        streams = [r.all_headers() for r in requests]
        assert len(streams) >= 3, "the stream was not dropped and resumed"
        resumed = [h for h in streams[1:] if "last-event-id" in h]
        assert resumed, "reconnections did not carry Last-Event-ID"
        recorded = web_store.result_statuses(run_id)
        assert sorted(recorded.values()).count("passed") == 38
        context.close()
