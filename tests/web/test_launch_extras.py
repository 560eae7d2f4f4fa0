"""The launch sheet's dataset upload and judge configuration in a real browser: a JSONL
file becomes a version of the picked suite, an LLM judge (the local test server) grades
every answer, and a bad file or an incomplete judge is refused naming the line or the
field."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from evalbook.server.schemas.policy import SECRETS_ENV
from evalbook.server.web.pages import launch as launch_page
from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot

pytestmark = BOTH_DATABASES

#: What the judge (the local test server) answers: the request it grades carries it.
RUBRIC = "Is the answer a friendly greeting?"
VERDICT = '[[answer={"rubric": 8, "reason": "friendly enough"}]]'


def base_suite() -> dict[str, Any]:
    return {
        "id": "greet",
        "name": "Greetings",
        "version": "1",
        "threshold": 0.5,
        "prompt": {"name": "greet-prompt", "versions": {1: {"template": "{{ q }}"}}},
        "scorers": ["non-empty"],
        "cases": [{"id": "g0", "vars": {"q": "hello"}}],
    }


def dataset(n: int) -> bytes:
    rows = [{"id": f"d{i}", "q": f"greet person {i} {VERDICT}", "section": "s"} for i in range(n)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def pick_model(page: Page) -> None:
    page.select_option("#l-provider", "mock")
    page.fill("#l-model_name", "echo")
    page.select_option("#l-suite", "greet@1")


def test_upload_a_dataset_add_a_judge_and_launch(
    page: Page, web: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = launch_page.dataset_suite
    monkeypatch.setattr(
        launch_page, "dataset_suite", lambda *a, **k: parsed.append(a[2]) or real(*a, **k)
    )
    web.register(base_suite())
    page.goto("/runs/new")
    pick_model(page)
    page.set_input_files(
        "#l-dataset_file",
        files=[{"name": "people.jsonl", "mimeType": "application/jsonl", "buffer": dataset(5)}],
    )
    page.select_option("#l-judge_provider", "openai-compatible")
    page.fill("#l-judge_model", "judge-model")
    page.fill("#l-judge_base_url", web.model_url)
    page.fill("#l-judge_rubric", "Is the answer a friendly greeting?")
    # The estimate counts the dataset's cases (not the picked suite's one) and the judge's
    # calls; the judge's price is not known, and the sheet says so instead of adding 0.
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("5 cases")
    expect(estimate).to_contain_text("people.jsonl")
    judge_row = estimate.locator('[data-cost="judge"]')
    expect(judge_row).to_contain_text("openai-compatible:judge-model")
    expect(judge_row).to_contain_text("5 calls")
    expect(judge_row).to_contain_text("unknown price")
    expect(estimate.locator('[data-cost="model"]')).to_contain_text("$0")
    expect(estimate.locator('[data-cost="total"]')).to_contain_text("unknown price")
    expect(estimate).to_contain_text("the total is unknown, not $0")
    # Each change sends the file again; it is checked once (the estimate keeps it).
    for epochs, calls in (("2", "10 calls"), ("1", "5 calls")):
        page.fill("#l-epochs", epochs)
        page.press("#l-epochs", "Tab")  # a change event
        expect(estimate).to_contain_text(calls)
    assert parsed == ["greet"]
    assert axe_violations(page) == []
    shoot(page, "launch-sheet-judge")
    page.get_by_role("button", name="Launch run").click()
    page.wait_for_url(re.compile(r"/runs\?launched="))
    run_id = page.url.split("launched=")[1].split("#")[0]

    with web.api() as api:

        def finished() -> bool:
            return bool(api.get(f"/api/runs/{run_id}").json()["status"] == "completed")

        web.wait_for(finished, timeout=60)
        run = api.get(f"/api/runs/{run_id}").json()
        assert run["counts"]["total"] == 5 and run["counts"]["passed"] == 5
        assert re.fullmatch(r"data-[0-9a-f]{10}\+judge-[0-9a-f]{8}", run["suite_version"])
        results = api.get(f"/api/runs/{run_id}/results").json()["items"]
        judged = [s for r in results for s in r["scores"] if s["kind"] == "llm_judge"]
        assert len(judged) == 5 and all(s["error"] is None for s in judged)
        assert {round(s["score"], 4) for s in judged} == {round(7 / 9, 4)}
        assert judged[0]["evidence"]["judge_model"].startswith("openai-compatible:judge-model")
        versions = [v["version"] for v in api.get("/api/suites/greet").json()["versions"]]
        assert versions[0] == "1" and len(versions) == 3  # base, dataset, judged dataset

    page.goto(f"/runs/{run_id}")
    expect(page.locator("#items")).to_contain_text("d4")
    expect(page.get_by_role("heading", name=re.compile("Scorers"))).to_contain_text("2")
    expect(page.locator("main")).to_contain_text("llm-judge")


def test_a_bad_dataset_line_and_an_incomplete_judge_are_named(page: Page, web: WebApp) -> None:
    web.register(base_suite())
    page.goto("/runs/new")
    pick_model(page)
    bad = b"id,q\na,hello\nb,hi,extra\n"
    page.set_input_files(
        "#l-dataset_file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.get_by_role("button", name="Launch run").click()
    error = page.locator("#e-dataset_file")
    expect(error).to_contain_text("bad.csv:3")
    expect(error).to_contain_text("row has 3 cells, the header has 2")
    expect(page.locator("#l-dataset_file")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("The run was not launched")
    shoot(page, "launch-sheet-dataset-error")

    # The sheet kept what was typed; the judge has a model but nothing to grade on.
    expect(page.locator("#l-model_name")).to_have_value("echo")
    page.select_option("#l-judge_provider", "openai-compatible")
    page.fill("#l-judge_model", "judge-model")
    page.get_by_role("button", name="Launch run").click()
    expect(page.locator("#e-judge_rubric")).to_contain_text("write a rubric or pick criteria")
    page.check("input[name=judge_criteria][value=concision]")
    page.fill("#l-judge_rubric", "Friendly?")
    page.get_by_role("button", name="Launch run").click()
    expect(page.locator("#e-judge_rubric")).to_contain_text("not both")
    expect(page.locator("input[name=judge_criteria][value=concision]")).to_be_checked()
    assert axe_violations(page) == []
    shoot(page, "launch-sheet-errors")
    with web.api() as api:
        assert api.get("/api/runs").json()["items"] == []
        assert len(api.get("/api/suites/greet").json()["versions"]) == 1


def test_the_estimate_adds_a_priced_judges_calls_to_the_total(
    page: Page, web: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A judge of known price (a listed model): its calls (cases × epochs) and cost beside
    the model's, and the total of both; the JSON twin gives the same figures. (The key is
    only named: estimating calls no model.)"""
    monkeypatch.setenv(SECRETS_ENV, "OPENAI_API_KEY")
    web.register(base_suite())
    page.goto("/runs/new")
    pick_model(page)
    page.fill("#l-epochs", "3")
    page.select_option("#l-judge_provider", "openai")
    page.fill("#l-judge_model", "gpt-4o-mini")
    page.fill("#l-judge_rubric", RUBRIC)
    estimate = page.locator("#estimate")
    judge_row = estimate.locator('[data-cost="judge"]')
    expect(judge_row).to_contain_text("openai:gpt-4o-mini")
    expect(judge_row).to_contain_text("3 calls")
    with web.api() as api:
        body = {
            "suite_id": "greet",
            "model": "mock:echo",
            "epochs": 3,
            "judge": {
                "model": "openai:gpt-4o-mini",
                "rubric": "Is the answer a friendly greeting?",
            },
        }
        twin = api.post("/api/runs/estimate", json=body).json()
    assert twin["judge_calls"] == 3 and twin["judges"][0]["price_known"]
    assert twin["total_cost_max"] == twin["judge_cost_max"] > 0  # the mock model costs $0
    expect(judge_row).to_contain_text(f"${twin['judge_cost_max']:.4f}")
    expect(estimate.locator('[data-cost="total"]')).to_contain_text(
        f"${twin['total_cost_max']:.4f}"
    )
    expect(estimate).not_to_contain_text("unknown price")
    assert axe_violations(page) == []
    shoot(page, "launch-sheet-estimate-judge")
