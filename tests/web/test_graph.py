"""The suite graph in a real browser: versions → runs → metrics drawn on the server, each
node a link, with the same nodes and edges as its JSON twin."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.harness import WebApp, axe_violations, shoot
from tests.web.test_compare import compare_suite, run


def test_suite_graph(page: Page, web: WebApp) -> None:
    web.register(compare_suite(n_same=4))
    first, second = run(web, 1), run(web, 2)
    page.goto("/suites/cmp")
    page.get_by_role("link", name="Graph").click()
    expect(page).to_have_url(re.compile(r"/suites/cmp/graph$"))
    expect(page.locator("[data-node=bench]")).to_have_count(1)
    runs = page.locator("[data-node=run]")
    expect(runs).to_have_count(2)
    metrics = page.locator("[data-node=metric]")
    names = " ".join(metrics.all_text_contents())
    for name in ("score", "pass_rate", "scorer contains"):
        assert name in names, names
    # Newest run on top; two runs → one trend line per metric.
    expect(runs.first).to_contain_text(second[:8])
    expect(runs.nth(1)).to_contain_text(first[:8])
    assert page.locator("[data-node=metric] polyline").count() == metrics.count()
    edges = page.locator("path.graph-edge")
    with web.api() as api:
        twin = api.get("/api/graph/suites/cmp").json()
    assert edges.count() == len(twin["edges"])
    assert {n["id"] for n in twin["nodes"] if n["type"] == "eval_run"} == {first, second}
    shoot(page, "graph")
    assert axe_violations(page) == []
    runs.nth(1).click()
    expect(page).to_have_url(re.compile(rf"/runs/{first}$"))
    answer = page.goto("/suites/nope/graph")
    assert answer is not None and answer.status == 404
