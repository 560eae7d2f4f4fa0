"""A run whose ``evalbook run`` process was killed, in the browser: the board, the
dashboard and the inspector show it ``interrupted``, and the inspector's Cancel ends it
``canceled`` with the results it recorded."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.interrupted import killed_cli_run
from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot

pytestmark = BOTH_DATABASES


def test_a_killed_run_shows_interrupted_and_cancel_ends_it(
    page: Page, web: WebApp, tmp_path: Path
) -> None:
    url = web.store.engine.url.render_as_string(hide_password=False)
    run_id, kept = killed_cli_run(tmp_path, url)

    page.goto("/runs")
    card = page.locator(f'article[data-run="{run_id}"]')
    expect(card).to_have_attribute("data-status", "interrupted")
    expect(card.locator(".badge")).to_have_text("interrupted")
    page.goto("/")
    expect(page.locator(f'article[data-run="{run_id}"] .badge')).to_have_text("interrupted")

    page.goto(f"/runs/{run_id}")
    expect(page.locator("h1 .badge")).to_have_text("interrupted")
    alert = page.get_by_role("status").filter(has_text="Interrupted")
    expect(alert).to_contain_text(f"{kept} results it recorded")
    expect(alert).to_contain_text(f"evalbook resume {run_id}")
    assert axe_violations(page) == []
    shoot(page, "inspector-interrupted")

    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator(".alert").filter(has_text="Canceled.")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("canceled")
    expect(page.locator(".alert-error")).to_contain_text("canceled after its process was gone")
    expect(page.locator(".stat-cases .stat-value")).to_have_text(str(kept))
    page.goto("/runs")
    expect(page.locator(f'article[data-run="{run_id}"] .badge')).to_have_text("canceled")
