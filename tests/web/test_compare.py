"""The comparison page in a real browser: the paired statistics of two runs, flips first,
word diffs of the outputs side by side (hostile output inert), the other views, paging,
three runs, aliases, and what a wrong address answers."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot

pytestmark = BOTH_DATABASES

#: (baseline answer, candidate answer) per group of cases.
SAME = ("yes it is", "yes it is")
REGRESSION = ("yes indeed", "no never")
FIX = ("no", "yes now")
DIFFERENT = ("yes the cat sat", "yes the dog sat")
HOSTILE = ("yes <script>window.pwned=1</script>", "yes <img src=x onerror=window.pwned=2>")


def compare_suite(n_same: int = 24) -> dict[str, Any]:
    groups = [SAME] * n_same + [REGRESSION] * 4 + [FIX] * 2 + [DIFFERENT] * 3 + [HOSTILE]
    cases = [
        {
            "id": f"c{i:02d}",
            "section": "easy" if i % 2 else "hard",
            "vars": {"n": i, "a": f"[[answer={a}]]", "b": f"[[answer={b}]]"},
        }
        for i, (a, b) in enumerate(groups)
    ]
    return {
        "id": "cmp",
        "name": "Compare suite",
        "version": "1",
        "threshold": 0.5,
        "prompt": {
            "name": "cmp-prompt",
            "versions": {
                1: {"template": "Question {{ n }}: {{ a }}"},
                2: {"template": "Question {{ n }}, answer briefly: {{ b }}"},
            },
        },
        "scorers": [{"contains": "yes"}],
        "cases": cases,
    }


def run(web: WebApp, version: int, alias: str | None = None) -> str:
    body: dict[str, Any] = {"suite_id": "cmp", "model": web.model(), "prompt_version": version}
    if alias:
        body["alias"] = alias
    with web.api() as api:
        answer = api.post("/api/runs", json=body)
        assert answer.status_code == 202, answer.text
    run_id = str(answer.json()["id"])
    web.wait_for(lambda: web.store.get_run(run_id).status.finished, timeout=60)
    return run_id


def test_compare_two_runs_flips_diffs_and_views(page: Page, web: WebApp) -> None:
    web.register(compare_suite())
    a, b = run(web, 1), run(web, 2)
    page.goto(f"/compare?runs={a},{b}")
    expect(page.locator("h1")).to_contain_text("Compare suite")
    metrics = page.locator("[data-metrics] tbody tr")
    for name in ("score", "pass rate", "easy", "hard", "contains"):
        expect(page.locator("[data-metrics]")).to_contain_text(name)
    # Pass rate: 29/34 → 27/34 over 34 paired cases (4 regressions, 2 fixes).
    rate = metrics.filter(has_text="pass rate")
    expect(rate.locator("td").first).to_have_text("34")
    expect(rate.locator("[data-delta] .delta-num")).to_have_text("-0.059")
    # The runs table: both runs, their models and latency histograms.
    expect(page.locator("table.cmp-runs")).to_contain_text(a[:8])
    expect(page.locator("table.cmp-runs")).to_contain_text("cmp-prompt v2")
    # Flips: newly failing first, 6 in all; the first one is open with its word diff.
    expect(page.locator(".tab[aria-current=page]")).to_contain_text("Flips 6")
    rows = page.locator("[data-rows] > li")
    expect(rows).to_have_count(6)
    for k in range(4):
        expect(rows.nth(k)).to_contain_text("newly failing")
    expect(rows.nth(4)).to_contain_text("newly passing")
    first = rows.first
    expect(first.locator("details")).to_have_attribute("open", "")
    sides = first.locator(".cmp-cols pre")
    expect(sides.nth(0)).to_have_text("yes indeed")
    expect(sides.nth(1)).to_have_text("no never")
    assert sides.nth(0).locator("del").all_text_contents() == ["yes", "indeed"]
    assert sides.nth(1).locator("ins").all_text_contents() == ["no", "never"]
    # The prompt versions differ: the rendered prompts' diff is shown too.
    expect(first.locator("[data-prompt-diff] ins").first).to_contain_text("answer briefly")
    shoot(page, "compare")
    assert axe_violations(page) == []
    # The keyboard: j moves to a case, o opens it; 4 shows the different outputs only.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("case-current"))
    page.keyboard.press("o")
    expect(rows.nth(1).locator("details")).to_have_attribute("open", "")
    page.keyboard.press("4")
    expect(page).to_have_url(re.compile(r"show=different"))
    expect(rows).to_have_count(10)
    # By the row's own key and its own summary: while htmx swaps the list in, a text
    # filter can match a row being replaced and a nested summary.
    hostile = page.locator('[data-rows] > li[data-case="c33"]')
    expect(hostile).to_have_count(1)
    hostile.locator(":scope > details > summary").click()
    expect(hostile.locator(".cmp-cols pre").nth(0)).to_have_text(HOSTILE[0])
    expect(hostile.locator(".cmp-cols pre").nth(1)).to_have_text(HOSTILE[1])
    assert page.evaluate("() => window.pwned") is None
    assert hostile.locator("script, img").count() == 0
    # One case's diff has its own address (a reviewer can paste it).
    hostile.get_by_role("link", name="Link to this diff").click()
    expect(page).to_have_url(re.compile(r"case=c33"))
    expect(page.locator("#opened")).to_contain_text("c33")
    expect(page.locator("#opened .cmp-cols pre").first).to_have_text(HOSTILE[0])
    # The inspector of the candidate compares it with the previous run in one click.
    page.goto(f"/runs/{b}")
    page.get_by_role("link", name="Compare with previous").click()
    expect(page).to_have_url(re.compile(rf"/compare\?runs={a},{b}$"))
    # Regressions sorted by case; the JSON twin lists the same rows.
    page.goto(f"/compare?runs={a},{b}&show=regressions&sort=case")
    expect(rows).to_have_count(4)
    ids = [rows.nth(k).get_attribute("data-case") for k in range(4)]
    assert ids == sorted(ids)
    with web.api() as api:
        twin = api.get(
            "/api/compare/cases",
            params={"baseline": a, "candidate": b, "show": "regressions", "sort": "case"},
        ).json()
        case = api.get(
            "/api/compare/case", params={"baseline": a, "candidate": b, "case": "c33"}
        ).json()
    assert [r["case_id"] for r in twin["rows"]] == ids and twin["total"] == 4
    ops = case["diff"]["output"]
    assert "".join(o["text"] for o in ops if o["op"] != "insert") == HOSTILE[0]
    assert "".join(o["text"] for o in ops if o["op"] != "delete") == HOSTILE[1]
    assert page.locator("footer .json-twin").get_attribute("href") == (
        f"/api/compare?baseline={a}&candidate={b}"
    )


def test_compare_pages_every_case_by_key(page: Page, web: WebApp) -> None:
    from evalbook.server.web.pages import compare

    web.register(compare_suite(n_same=6))
    a, b = run(web, 1), run(web, 2)
    original = compare.PAGE
    compare.PAGE = 5
    try:
        page.goto(f"/compare?runs={a},{b}&show=all")
        rows = page.locator("[data-rows] > li")
        expect(rows).to_have_count(5)
        seen = [rows.nth(k).get_attribute("data-case") for k in range(5)]
        for _ in range(3):
            page.get_by_role("link", name="Next →").click()
            expect(rows.first).to_have_attribute("data-case", f"c{len(seen):02d}")
            seen += [rows.nth(k).get_attribute("data-case") for k in range(rows.count())]
        assert seen == [f"c{i:02d}" for i in range(16)]
        expect(page).to_have_url(re.compile(r"cursor="))
    finally:
        compare.PAGE = original


def test_three_runs_aliases_and_wrong_addresses(page: Page, web: WebApp) -> None:
    web.register(compare_suite(n_same=4))
    a = run(web, 1, alias="stable")
    b = run(web, 2, alias="next")
    c = run(web, 1)
    page.goto(f"/compare?runs={a},{b},{c}&vs=2")
    header = page.locator("[data-metrics] thead")
    expect(header).to_contain_text("Candidate 2")
    expect(page.locator("#rows-h")).to_contain_text(c[:8])
    # The same prompt and answers: nothing flipped against the third run.
    expect(page.locator("#rows .empty")).to_have_text("No case changed verdict.")
    page.get_by_label("Candidate").select_option("1")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#rows-h")).to_contain_text(b[:8])
    # Latest run of each alias, picked from the runs grouped by alias.
    page.goto("/compare")
    aliases = page.locator("[data-aliases] tbody tr")
    expect(aliases).to_have_count(2)
    page.get_by_label("Compare the latest run of stable").check()
    page.get_by_label("Compare the latest run of next").check()
    page.get_by_role("button", name="Compare the latest run of each selected alias").click()
    expect(page).to_have_url(re.compile(r"alias=next&alias=stable|alias=stable&alias=next"))
    expect(page.locator("table.cmp-runs thead")).to_contain_text("Candidate")
    expect(page.locator("table.cmp-runs")).to_contain_text(a[:8])
    expect(page.locator("table.cmp-runs")).to_contain_text(b[:8])
    # Nothing chosen: what is ready to compare, and a form.
    page.goto("/compare")
    expect(page.locator("h1")).to_have_text("Compare runs")
    expect(page.locator("#ready-h").locator("..")).to_contain_text("Compare suite")
    shoot(page, "compare-empty")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Compare latest two").click()
    expect(page.locator("[data-metrics]")).to_be_visible()
    # Wrong addresses answer with a page that says why.
    answer = page.goto(f"/compare?runs={a}")
    assert answer is not None and answer.status == 422
    expect(page.locator("main")).to_contain_text("two or more runs")
    answer = page.goto(f"/compare?runs={a},nope")
    assert answer is not None and answer.status == 404
    answer = page.goto(f"/compare?runs={a},{b}&case=missing")
    assert answer is not None and answer.status == 404
    answer = page.goto(f"/compare?runs={a},{b}&cursor=zzz&show=all")
    assert answer is not None and answer.status == 422
