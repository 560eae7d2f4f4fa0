"""The run inspector in a real browser: open a run, filter it, page it, act on it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot
from tests.web.suites import board_suite

pytestmark = BOTH_DATABASES


def _finished_run(web: WebApp, suite_id: str = "board", **body: object) -> str:
    with web.api() as api:
        run = api.post("/api/runs", json={"suite_id": suite_id, "model": web.model(), **body})
        assert run.status_code == 202, run.text
    run_id = str(run.json()["id"])
    web.wait_for(lambda: web.store.get_run(run_id).status.finished)
    return run_id


def test_inspector_summary_filters_and_paging(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=45, latency_ms=0))
    run_id = _finished_run(web)
    page.goto(f"/runs/{run_id}")
    expect(page.locator("h1")).to_contain_text("Board suite")
    summary = page.locator(".summary")
    expect(summary).to_contain_text("45")
    expect(summary).to_contain_text("43 passed")
    expect(summary).to_contain_text("1 failed")
    expect(summary).to_contain_text("1 errored")
    expect(page.locator("table.breakdown")).to_contain_text("equals")
    assert page.locator("table.breakdown svg.ci").count() >= 1
    cases = page.locator("[data-case]")
    expect(cases).to_have_count(20)
    assert page.locator("footer .json-twin").get_attribute("href") == (
        f"/api/runs/{run_id}/results"
    )
    shoot(page, "inspector")
    assert axe_violations(page) == []

    # Keyset paging: the next page starts after the last case shown.
    page.get_by_role("link", name="Next page →").click()
    expect(page).to_have_url(re.compile(r"after=19"))
    expect(cases.first).to_have_attribute("data-case", "c20")

    # Failed only (with the keyboard's f): the URL carries it, a reload reproduces it.
    page.goto(f"/runs/{run_id}")
    page.keyboard.press("f")
    expect(page).to_have_url(re.compile(r"failed=1"))
    expect(cases).to_have_count(2)
    expect(page.locator("[data-case='c3'] .badge")).to_contain_text("failed")
    page.reload()
    expect(cases).to_have_count(2)
    assert "failed_only=true" in (page.locator("footer .json-twin").get_attribute("href") or "")
    page.keyboard.press("e")
    expect(page).to_have_url(re.compile(r"errored=1"))
    expect(cases).to_have_count(1)
    expect(cases.first).to_have_attribute("data-case", "c5")

    # Open the errored case: its attempts and error are there; j/k move between cases.
    cases.first.locator("summary").click()
    body = cases.first.locator(".case-body")
    expect(body).to_contain_text("Attempts")
    expect(body).to_contain_text("400")
    shoot(page, "inspector-errored")

    # Text search and a link straight to one item on a later page.
    page.goto(f"/runs/{run_id}?q=c33")
    expect(cases).to_have_count(1)
    page.goto(f"/runs/{run_id}?case=c40")
    expect(page.locator("[data-case='c40'] details")).to_have_attribute("open", "")
    with web.api() as api:
        twin = api.get(f"/api/runs/{run_id}/results", params={"errored_only": "true"}).json()
    assert [r["case_id"] for r in twin["items"]] == ["c5"]


def test_keyboard_moves_between_cases(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=4, latency_ms=0))
    run_id = _finished_run(web)
    page.goto(f"/runs/{run_id}")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator(".case-current")).to_have_attribute("data-case", "c1")
    page.keyboard.press("o")
    expect(page.locator("[data-case='c1'] details")).to_have_attribute("open", "")
    page.keyboard.press("k")
    expect(page.locator(".case-current")).to_have_attribute("data-case", "c0")


def test_save_failures_as_a_suite_and_actions(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=8, latency_ms=0))
    run_id = _finished_run(web)
    page.goto(f"/runs/{run_id}")
    for name in ("JSONL", "JSON", "CSV", "HTML report", "Re-run with changes"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    report = page.request.get(web.url + f"/api/runs/{run_id}/report")
    assert report.status == 200 and "<html" in report.text().lower()
    exported = page.request.get(web.url + f"/api/runs/{run_id}/export?format=csv")
    assert exported.status == 200 and "c3" in exported.text()
    page.get_by_role("button", name="Save failures as a suite").click()
    page.wait_for_url(re.compile(r"/suites/board-failures"))
    with web.api() as api:
        saved = api.get(f"/api/suites/board-failures/versions/run-{run_id}").json()
    assert sorted(c["id"] for c in saved["definition"]["cases"]) == ["c3", "c5"]
    # The API route does the same; a second save is the same version.
    with web.api() as api:
        again = api.post(f"/api/runs/{run_id}/failures-suite")
    assert again.status_code == 200 and again.json()["case_count"] == 2
    # Resume re-runs the errored case under the same run.
    page.goto(f"/runs/{run_id}")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".alert")).to_contain_text("Resumed")
    web.wait_for(lambda: web.store.get_run(run_id).status.finished)
    page.goto(f"/runs/{run_id}")
    page.get_by_role("button", name="Archive").click()
    expect(page.locator("h1")).to_contain_text("archived")
    assert web.store.get_run(run_id).archived_at is not None


def _review_suite() -> dict[str, object]:
    data = board_suite("reviewed", n=6, latency_ms=0)
    data["scorers"] = [
        {"equals": "{{ expected }}"},
        {"human": {"criterion": "helpfulness", "scale": [1, 5]}},
    ]
    return data


def test_review_cases_with_the_keyboard(page: Page, web: WebApp) -> None:
    web.register(_review_suite())
    run_id = _finished_run(web, "reviewed")
    page.goto(f"/runs/{run_id}")
    page.get_by_role("link", name="Review queue").click()
    expect(page).to_have_url(re.compile(r"awaiting=1"))
    cases = page.locator("[data-case]")
    expect(cases).to_have_count(5)  # c5 errored: nothing to review
    expect(page.locator("#items")).to_contain_text("5 awaiting review")
    page.keyboard.press("j")
    expect(page.locator(".case-current")).to_have_attribute("data-case", "c0")
    # 7 is outside the 1–5 scale: refused in the page, nothing sent.
    page.keyboard.press("7")
    assert web.store.get_run(run_id).feedback_scores is None
    page.locator("[data-case='c0'] [data-review-author]").fill("ana")
    page.locator("[data-case='c0'] [data-review-author]").dispatch_event("change")
    page.locator("[data-case='c0'] summary").focus()
    page.keyboard.press("4")
    expect(page.locator("[data-case='c0'] .review-saved")).to_be_visible()
    expect(page.locator(".case-current")).to_have_attribute("data-case", "c1")
    shoot(page, "inspector-review")
    # Label and comment the next case with the keyboard, then score it.
    page.keyboard.press("l")
    page.keyboard.type("terse")
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    page.keyboard.type("<script>window.pwned=1</script> too short")
    page.keyboard.press("Escape")
    page.locator("[data-case='c1'] summary").focus()
    page.keyboard.press("2")
    expect(page.locator("[data-case='c1'] .reviews")).to_contain_text("terse")
    expect(page.locator("[data-case='c1'] .reviews")).to_contain_text("<script>")
    assert page.evaluate("() => window.pwned") is None
    assert axe_violations(page) == []

    from evalbook.analysis.feedback import feedback_scores_json, feedback_summary
    from evalbook.storage.feedback import list_feedback

    rows = list_feedback(web.store, run_id)
    assert [(r.case_id, r.name, r.score, r.label, r.author) for r in rows] == [
        ("c0", "helpfulness", 4.0, None, "ana"),
        ("c1", "helpfulness", 2.0, "terse", "ana"),
    ]
    assert rows[1].comment == "<script>window.pwned=1</script> too short"
    stored = web.store.get_run(run_id).feedback_scores
    assert stored is not None and stored == feedback_scores_json(
        feedback_summary(web.store, run_id)
    )
    # The queue shrinks; the summary shows the criterion.
    page.reload()
    expect(cases).to_have_count(3)
    expect(page.locator("#human-h")).to_be_visible()
    with web.api() as api:
        queue = api.get(f"/api/runs/{run_id}/results", params={"awaiting_review": "true"})
    assert [r["case_id"] for r in queue.json()["items"]] == ["c2", "c3", "c4"]


def test_review_form_needs_its_csrf_token(page: Page, web: WebApp) -> None:
    web.register(_review_suite())
    run_id = _finished_run(web, "reviewed")
    page.goto(f"/runs/{run_id}")
    form = {"case_id": "c0", "score": "3", "name": "helpfulness"}
    assert page.request.post(web.url + f"/runs/{run_id}/review", form=form).status == 403
    token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    done = page.request.post(web.url + f"/runs/{run_id}/review", form={**form, "csrf": token})
    assert done.ok
    assert web.store.get_run(run_id).feedback_scores is not None


def test_hostile_output_is_inert_in_the_inspector(page: Page, web: WebApp) -> None:
    from tests.web.suites import HOSTILE, hostile_suite

    web.register(hostile_suite())
    run_id = _finished_run(web, "hostile")
    response = page.goto(f"/runs/{run_id}")
    assert response is not None and response.status == 200
    # The 1 MB answer is cut on the page (the rest is one click away, in JSON).
    assert len(response.body()) < 400_000
    for details in page.locator("[data-case] details").all():
        details.evaluate("d => d.open = true")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("a[href^='javascript:'], svg[onload], img[onerror]").count() == 0
    texts = page.locator("[data-case] pre.text").all_text_contents()
    for text in HOSTILE:
        assert text in texts
    expect(page.locator("[data-case='big'] .clip-note").first).to_contain_text("20,000")
    expect(page.locator("h1")).to_contain_text("<script>window.pwned=5</script> suite")
    shoot(page, "inspector-hostile", full_page=False)


def test_launch_open_filter_and_review_in_one_flow(page: Page, web: WebApp) -> None:
    """The proof the issue asks for: launch from the sheet, open the run from its card,
    filter the failures, review one with the keyboard."""
    web.register(_review_suite())
    page.goto("/runs/new")
    page.select_option("#l-provider", "openai-compatible")
    page.fill("#l-model_name", "test-model")
    page.fill("#l-base_url", web.model_url)
    page.select_option("#l-suite", "reviewed@1")
    page.get_by_role("button", name="Launch run").click()
    page.wait_for_url(re.compile(r"/runs\?launched="))
    run_id = page.url.split("launched=")[1].split("#")[0]
    card = page.locator(f'[data-run="{run_id}"]')
    expect(card.locator("[data-status]").first).to_have_text("completed", timeout=30_000)
    card.get_by_role("link", name="Open").click()
    page.wait_for_url(re.compile(rf"/runs/{run_id}$"))
    page.keyboard.press("f")
    cases = page.locator("[data-case]")
    expect(cases).to_have_count(2)
    page.keyboard.press("j")
    expect(page.locator(".case-current")).to_have_attribute("data-case", "c3")
    page.keyboard.press("1")
    expect(page.locator("[data-case='c3'] .review-saved")).to_be_visible()
    from evalbook.storage.feedback import list_feedback

    assert [(f.case_id, f.score) for f in list_feedback(web.store, run_id)] == [("c3", 1.0)]
    # The scorer filter: the failures of one scorer (c3 fails it, c5 errored before it).
    page.goto(f"/runs/{run_id}")
    page.locator("table.breakdown").get_by_role("link", name="equals").click()
    expect(page).to_have_url(re.compile(r"scorer=equals"))
    expect(cases).to_have_count(6)
    page.keyboard.press("f")
    expect(cases).to_have_count(2)
