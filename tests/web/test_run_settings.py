"""The run inspector shows how a run was executed: its options and the model config it
ran with, folded under the summary, as the run's record (its JSON twin) holds them, every
value escaped."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot
from tests.web.suites import board_suite

pytestmark = BOTH_DATABASES

HOSTILE = '<img src=x onerror="window.pwned=1">\nand a second line'


def test_the_run_page_shows_the_runs_settings(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=6, latency_ms=0))
    model = {
        **web.model(),
        "temperature": 0.7,
        "max_tokens": 64,
        "seed": 11,
        "stop": ["</answer>"],
        "system_prompt": HOSTILE,
        "params": {"top_p": 0.9, "note": "<b>bold</b>"},
        "max_connections": 3,
        "price": {"input_per_mtok": 0.5, "output_per_mtok": 1.25},
    }
    body = {
        "suite_id": "board",
        "model": model,
        "cases": ["c0", "c1", "c2"],
        "epochs": 2,
        "concurrency": 5,
        "max_cost": 1.5,
        "use_cache": False,
        "max_attempts": 2,
        "retry_budget_s": 30,
        "max_error_rate": 50,
        "derived_metrics": [{"name": "twice", "expression": "2 * equals"}],
    }
    with web.api() as api:
        created = api.post("/api/runs", json=body)
        assert created.status_code == 202, created.text
        run_id = created.json()["id"]
        web.wait_for(lambda: api.get(f"/api/runs/{run_id}").json()["status"] == "completed")
        twin = api.get(f"/api/runs/{run_id}").json()

    page.goto(f"/runs/{run_id}")
    settings = page.locator("[data-run-settings]")
    line = settings.locator("summary")
    expect(line).to_contain_text("concurrency 5 (3 in flight at most)")
    expect(line).to_contain_text("2 epochs · cache off · max cost $1.50")
    expect(line).to_contain_text("temperature 0.7 · max tokens 64")
    body_of = settings.locator(".settings-body")
    expect(body_of).to_be_hidden()  # folded until asked for
    line.click()
    expect(body_of).to_be_visible()

    def shown(name: str) -> str:
        return settings.locator(f'[data-setting="{name}"]').inner_text()

    options = twin["options"]
    assert shown("concurrency") == str(options["concurrency"]) == "5"
    assert shown("in_flight") == str(options["in_flight"]) == "3"
    assert shown("epochs") == "2"
    assert shown("case_ids") == "3 chosen"
    assert settings.locator('[data-setting="case_ids"] span').get_attribute("title") == (
        "c0, c1, c2"
    )
    assert shown("use_cache") == "not used"
    assert shown("max_attempts") == "2"
    assert shown("retry_budget_s") == "30.0 s"
    assert shown("max_error_rate") == "50.0 %"
    assert shown("derived") == "2 * equals"

    assert twin["model"]["system_prompt"] == HOSTILE
    assert shown("model") == f"openai-compatible:{model['name']}"
    assert shown("temperature") == "0.7" and shown("max_tokens") == "64"
    assert shown("seed") == "11" and shown("max_connections") == "3"
    assert shown("stop") == '["</answer>"]'
    assert shown("params") == '{"note": "<b>bold</b>", "top_p": 0.9}'
    assert shown("base_url") == web.model_url
    assert shown("price") == "0.5 in · 1.25 out"
    assert shown("system_prompt") == HOSTILE  # text, line break kept, nothing run
    assert settings.locator("img, b").count() == 0
    assert page.evaluate("() => window.pwned") is None
    shoot(page, "inspector-settings", full_page=False)
    assert axe_violations(page) == []


def test_a_plain_runs_settings_say_what_it_used(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=3, latency_ms=0))
    with web.api() as api:
        created = api.post("/api/runs", json={"suite_id": "board", "model": web.model()})
        run_id = created.json()["id"]
        web.wait_for(lambda: api.get(f"/api/runs/{run_id}").json()["status"] == "completed")
    page.goto(f"/runs/{run_id}")
    settings = page.locator("[data-run-settings]")
    expect(settings.locator("summary")).to_contain_text("concurrency 8 · 1 epoch · cache on")
    expect(settings.locator("summary")).not_to_contain_text("max cost")
    settings.locator("summary").click()
    expect(settings.locator('[data-setting="case_ids"]')).to_have_text("all of the suite's")
    expect(settings.locator('[data-setting="max_cost"]')).to_have_text("none")
    expect(settings.locator('[data-setting="max_attempts"]')).to_have_text(
        "as the retry budget allows"
    )
    expect(settings.locator('[data-setting="retry_budget_s"]')).to_have_text("10 m 00 s")
    expect(settings.locator('[data-setting="system_prompt"]')).to_have_count(0)
    expect(settings.locator('[data-setting="derived"]')).to_have_count(0)
