"""The experiment pages in a real browser: a 2 models × 2 prompt versions matrix, the
combinations compared with the baseline above the case grid (hostile output inert), the
grid paged by key, another baseline in one click, the run page's link, the list, and the
JSON twins (``GET /api/experiments``, ``GET /api/experiments/{id}``)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.harness import WebApp, axe_violations, shoot

N = 56  # more than one page of the grid (50)
HOSTILE = "yes <script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
EXPERIMENT = "mx 2024/ab"  # a space and a slash: the id is quoted everywhere


def matrix_suite() -> dict[str, Any]:
    cases = []
    for i in range(N):
        b = "no, it is not" if i % 4 == 0 else "yes, it is"
        cases.append({"id": f"q{i:02d}", "vars": {"i": i, "a": "yes it is", "b": b}})
    cases[5]["vars"]["b"] = HOSTILE
    return {
        "id": "mx",
        "name": "Matrix suite",
        "threshold": 0.5,
        "prompt": {
            "name": "mx-prompt",
            "versions": {
                1: {"template": "[[answer={{ a }}]] Question {{ i }}"},
                2: {"template": "[[answer={{ b }}]] Question {{ i }}, briefly"},
            },
        },
        "scorers": [{"contains": "yes"}],
        "cases": cases,
    }


def launch_matrix(web: WebApp) -> list[str]:
    ids = []
    with web.api() as api:
        for model in ("small", "large"):
            for version in (1, 2):
                body = {
                    "suite_id": "mx",
                    "model": web.model(model),
                    "prompt_version": version,
                    "label": f"{model} · v{version}",
                    "experiment_id": EXPERIMENT,
                }
                answer = api.post("/api/runs", json=body)
                assert answer.status_code == 202, answer.text
                ids.append(str(answer.json()["id"]))
    for run_id in ids:
        web.wait_for(lambda r=run_id: web.store.get_run(r).status.finished, timeout=120)
    return ids


def test_the_matrix_page(page: Page, web: WebApp) -> None:
    web.register(matrix_suite())
    runs = launch_matrix(web)
    # three paired comparisons on first view: generous on a loaded machine
    page.set_default_navigation_timeout(90_000)
    # the run page links to its experiment; the experiment lists the four combinations
    page.goto(f"/runs/{runs[1]}")
    page.locator("[data-experiment]").click()
    expect(page.locator("h1")).to_contain_text(EXPERIMENT)
    expect(page.locator("h1")).to_contain_text("4 combinations")
    summary = page.locator("[data-summary] tbody tr")
    expect(summary).to_have_count(4)
    expect(summary.nth(0)).to_contain_text("small · v1")
    expect(summary.nth(0)).to_contain_text("baseline")
    # v2 fails every fourth case (14 of 56) and the hostile one passes: pass rate −0.25
    v2 = summary.nth(1)
    expect(v2).to_contain_text("small · v2")
    expect(v2.locator("[data-delta] .delta-num").nth(1)).to_have_text("-0.250")
    expect(v2.locator("td.tone-worse").last).to_have_text("14")
    expect(summary.nth(2).locator("[data-delta] .delta-num").nth(1)).to_have_text("+0.000")
    # the grid: the comparison sits above it; rows = cases, columns = combinations
    assert (
        page.locator("[data-summary]").bounding_box()["y"]
        < (  # type: ignore[index]
            page.locator("[data-grid]").bounding_box()["y"]  # type: ignore[index]
        )
    )
    heads = page.locator("[data-grid] thead th")
    expect(heads).to_have_count(5)
    expect(heads.nth(1)).to_contain_text("small · v1")
    expect(heads.nth(4)).to_contain_text("large · v2")
    rows = page.locator("[data-grid] tbody tr")
    expect(rows).to_have_count(50)
    first = rows.filter(has=page.locator("th", has_text="q00"))
    expect(first).to_have_class(re.compile("exp-differs"))
    cells = first.locator("td")
    expect(cells.nth(0)).to_have_attribute("data-status", "passed")
    expect(cells.nth(1)).to_have_attribute("data-status", "failed")
    expect(cells.nth(1).locator(".exp-output")).to_have_text("no, it is not")
    hostile = rows.filter(has=page.locator("th", has_text="q05")).locator("td").nth(1)
    expect(hostile.locator(".exp-output")).to_have_text(HOSTILE)
    assert hostile.locator("script, img").count() == 0
    assert page.evaluate("() => window.pwned") is None
    shoot(page, "experiment")
    assert axe_violations(page) == []
    # a cell opens that case in its run
    cells.nth(1).locator("a.exp-verdict").click()
    expect(page).to_have_url(re.compile(rf"/runs/{runs[1]}\?case=q00"))
    page.go_back()
    # the next page of cases, then back to the first
    page.get_by_role("link", name="Next cases →").click()
    expect(rows).to_have_count(N - 50)
    expect(rows.first.locator("th")).to_contain_text("q50")
    expect(page.get_by_role("link", name="Next cases →")).to_have_count(0)
    page.get_by_role("link", name="← First cases").click()
    expect(rows).to_have_count(50)
    # another combination as the baseline: v1 is now 14 fixes better than it
    v2 = page.locator("[data-summary] tbody tr").nth(1)
    v2.get_by_role("link", name="Make baseline").click()
    expect(page.locator("[data-summary] tbody tr").nth(1)).to_contain_text("baseline")
    expect(
        page.locator("[data-summary] tbody tr").nth(0).locator("td.tone-better").last
    ).to_have_text("14")
    # the list of experiments, and the JSON twins
    page.goto("/experiments")
    listed = page.locator("[data-experiments] tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text(EXPERIMENT)
    expect(listed.first.locator("td.num")).to_have_text("4")
    shoot(page, "experiments")
    assert axe_violations(page) == []
    with web.api() as api:
        page_one = api.get("/api/experiments").json()
        assert [e["id"] for e in page_one["items"]] == [EXPERIMENT]
        answer = api.get(f"/api/experiments/{EXPERIMENT}", params={"limit": 30})
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert [c["run_id"] for c in found["combinations"]] == runs
        assert found["baseline"] == runs[0]
        assert [c["run_id"] for c in found["comparisons"]] == runs[1:]
        assert found["comparisons"][0]["regressions"] == 14
        grid = found["grid"]
        assert len(grid["rows"]) == 30 and grid["rows"][5]["cells"][1]["output"] == HOSTILE
        rest = api.get(
            f"/api/experiments/{EXPERIMENT}", params={"limit": 30, "cursor": grid["next_cursor"]}
        ).json()["grid"]
        assert [r["case_id"] for r in grid["rows"] + rest["rows"]] == [
            f"q{i:02d}" for i in range(N)
        ]
        assert rest["next_cursor"] is None
        assert api.get("/api/experiments/nothing-here").status_code == 404
        assert (
            api.get(f"/api/experiments/{EXPERIMENT}", params={"cursor": "bm9wZQ"}).status_code
            == 422
        )
        assert (
            api.get(f"/api/experiments/{EXPERIMENT}", params={"baseline": "not-a-run"}).status_code
            == 422
        )
    page.goto("/experiments/nothing-here")
    expect(page.locator("h1")).to_have_text("Not found")


def test_different_outputs_only(page: Page, web: WebApp) -> None:
    """The grid's filter keeps the cases whose outputs or verdicts differ; it lives in
    the URL (a link or a reload shows the same view) and in the JSON twin, paged by key."""
    cases = []
    for i in range(12):
        b = "other answer" if i % 4 == 0 else "same answer"  # output differs, verdict not
        cases.append({"id": f"d{i:02d}", "vars": {"i": i, "a": "same answer", "b": b}})
    cases[6]["vars"]["b"] = "no"  # the verdict differs too
    web.register(
        {
            "id": "mxd",
            "prompt": {
                "name": "mxd-prompt",
                "versions": {1: "[[answer={{ a }}]] Q{{ i }}", 2: "[[answer={{ b }}]] Q{{ i }}"},
            },
            "scorers": [{"contains": "answer"}],
            "cases": cases,
        }
    )
    ids = []
    with web.api() as api:
        for version in (1, 2):
            body = {"suite_id": "mxd", "model": web.model("small"), "prompt_version": version,
                    "label": f"v{version}", "experiment_id": "diff"}  # fmt: skip
            answer = api.post("/api/runs", json=body)
            assert answer.status_code == 202, answer.text
            ids.append(str(answer.json()["id"]))
    for run_id in ids:
        web.wait_for(lambda r=run_id: web.store.get_run(r).status.finished, timeout=120)
    page.set_default_navigation_timeout(90_000)
    # the header's navigation leads to the experiments
    page.goto("/")
    page.locator("header nav").get_by_role("link", name="Experiments").click()
    expect(page).to_have_url(re.compile(r"/experiments$"))
    page.locator("[data-experiments] tbody tr").first.locator("a").first.click()
    rows = page.locator("[data-grid] tbody tr")
    expect(rows).to_have_count(12)
    page.locator("[data-differing-filter]").click()
    expect(page).to_have_url(re.compile(r"/experiments/diff\?differing=true$"))
    expect(rows).to_have_count(4)
    assert [rows.nth(i).get_attribute("data-case") for i in range(4)] == [
        "d00", "d04", "d06", "d08"
    ]  # fmt: skip
    expect(page.locator("tr[data-outputs-differ]")).to_have_count(4)
    expect(page.locator("tr.exp-differs")).to_have_count(1)  # d06: the verdicts too
    expect(page.locator("#json-twin")).to_have_attribute(
        "href", "/api/experiments/diff?differing=true"
    )
    shoot(page, "experiment-differing")
    assert axe_violations(page) == []
    page.goto(page.url)  # a link reproduces the view
    expect(rows).to_have_count(4)
    expect(page.locator("[data-differing-filter]")).to_contain_text("show all cases")
    page.locator("[data-differing-filter]").click()
    expect(page).to_have_url(re.compile(r"/experiments/diff$"))
    expect(rows).to_have_count(12)
    with web.api() as api:
        first = api.get("/api/experiments/diff", params={"differing": "true", "limit": 3}).json()
        grid = first["grid"]
        assert grid["differing"] is True
        assert [r["case_id"] for r in grid["rows"]] == ["d00", "d04", "d06"]
        assert all(r["outputs_differ"] for r in grid["rows"])
        rest = api.get(
            "/api/experiments/diff",
            params={"differing": "true", "limit": 3, "cursor": grid["next_cursor"]},
        ).json()["grid"]
        assert [r["case_id"] for r in rest["rows"]] == ["d08"] and rest["next_cursor"] is None
        everything = api.get("/api/experiments/diff").json()["grid"]
        assert len(everything["rows"]) == 12 and everything["differing"] is False
        assert [r["outputs_differ"] for r in everything["rows"]].count(True) == 4
