"""The judges and pairwise pages in a real browser: a run's judge report (errors, panel
members, agreement, judge vs humans) and a recorded pairwise comparison (outcomes, bias,
judgments by outcome), each with its JSON twin."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from evalbook.analysis.feedback import record_feedback
from evalbook.executor.pairwise_job import PairwiseResult, judge_pairwise
from tests.analysis.test_judges import _panel_run
from tests.executor.pairwise_runs import FIX, make_run
from tests.executor.test_pairwise import BASELINE, CANDIDATE
from tests.web.harness import WebApp, axe_violations, off_thread, run_async, shoot


def test_judge_report_page(page: Page, web: WebApp) -> None:
    run_id = off_thread(lambda: _panel_run(web.store))
    for case, score in (("c0", 0.9), ("c1", 0.1), ("c2", 0.8), ("c3", 0.2)):
        record_feedback(web.store, run_id, case, name="polite", score=score, author="ann")
    page.goto("/judges")
    row = page.locator("#judged-h").locator("../..").locator("tbody tr", has_text=run_id[:8])
    expect(row).to_have_count(1)
    expect(page.locator("#pairwise-h").locator("../..")).to_contain_text("evalbook pairwise")
    row.get_by_role("link", name="Judge report").click()
    expect(page).to_have_url(re.compile(rf"/judges/{run_id}$"))
    criteria = page.locator("[data-criteria] tbody tr")
    expect(criteria).to_have_count(2)
    mute, polite = criteria.nth(0), criteria.nth(1)
    expect(mute.locator("th")).to_have_text("mute")
    expect(mute.locator("td").nth(2)).to_contain_text("4 (100%)")
    expect(polite.locator("td").nth(0)).to_have_text("rubric@1")
    expect(polite).to_contain_text("4 cases")  # panel alpha over the four cases
    expect(polite).to_contain_text("4 reviewed")  # judge vs humans
    panel = page.locator('[data-panel="polite"] tbody tr')
    expect(panel).to_have_count(3)
    expect(panel.filter(has_text="mute_judge")).to_contain_text("no verdict")
    expect(panel.filter(has_text="mute_judge").locator("td").last).to_have_text("4")
    shoot(page, "judges-run")
    assert axe_violations(page) == []
    with web.api() as api:
        twin = api.get(f"/api/runs/{run_id}/judges").json()
    assert [c["name"] for c in twin] == ["mute", "polite"]
    assert twin[1]["human"]["n"] == 4 and twin[0]["error_rate"] == 1.0
    assert page.locator("footer .json-twin").get_attribute("href") == f"/api/runs/{run_id}/judges"
    answer = page.goto("/judges/nope")
    assert answer is not None and answer.status == 404


def test_pairwise_page(page: Page, web: WebApp) -> None:
    base = run_async(lambda: make_run(web.store, BASELINE)).id
    cand = run_async(lambda: make_run(web.store, CANDIDATE)).id
    result: PairwiseResult = run_async(
        lambda: judge_pairwise(web.store, base, cand, judge=f"{FIX}:fair_pair_judge")
    )
    page.goto("/judges")
    listed = page.locator("#pairwise-h").locator("../..").locator("tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("fair_pair_judge")
    shoot(page, "judges")
    assert axe_violations(page) == []
    listed.get_by_role("link", name=result.id[:8]).click()
    expect(page).to_have_url(re.compile(rf"/pairwise/{result.id}$"))
    outcome = page.locator("[data-outcome]")
    expect(outcome).to_contain_text("2 wins")
    expect(outcome).to_contain_text("2 ties")
    expect(outcome).to_contain_text("1 losses")
    expect(outcome.locator("tr", has_text="Win rate")).to_contain_text("0.667")
    expect(page.locator("[data-bias] tr", has_text="Position bias")).to_contain_text("0.0%")
    expect(page.locator("[data-unreliable]")).to_have_count(0)
    judgments = page.locator("[data-judgments] tbody tr")
    expect(judgments).to_have_count(5)
    expect(judgments.first).to_contain_text("Checked both.")
    shoot(page, "pairwise")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Losses").click()
    expect(judgments).to_have_count(1)
    expect(judgments.first.locator("td").first).to_have_text("c1")
    # A case opens the two answers side by side on the comparison page.
    judgments.first.get_by_role("link", name="c1").click()
    expect(page.locator("#opened")).to_contain_text("c1")
    expect(page.locator("#opened .cmp-cols pre").nth(1)).to_have_text("Lyon.")
    with web.api() as api:
        twin = api.get(f"/api/pairwise/{result.id}").json()
        listed_api = api.get("/api/pairwise").json()
        page_one = api.get(f"/api/pairwise/{result.id}/judgments", params={"limit": 2}).json()
        page_two = api.get(
            f"/api/pairwise/{result.id}/judgments",
            params={"limit": 2, "after": page_one["next_after"]},
        ).json()
    assert twin == result.model_dump(mode="json")
    assert [p["id"] for p in listed_api] == [result.id]
    assert [j["case_id"] for j in page_one["items"] + page_two["items"]] == [
        "c0",
        "c1",
        "c2",
        "c3",
    ]
    answer = page.goto("/pairwise/nope")
    assert answer is not None and answer.status == 404
