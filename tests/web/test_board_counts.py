"""A running run's card counts its passed, failed and errored results live, from the same
event stream as its grid (no other connection), and a page loaded mid-run shows the
counts recorded so far (a run's record sums them only when it ends) — on the runs board
and the dashboard, and in their JSON twins."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot
from tests.web.suites import board_suite

pytestmark = BOTH_DATABASES

N = 30


def _snapshot(page: Page, run_id: str) -> dict[str, Any]:
    """The card's counters and its cells' states, read in one go (no event between)."""
    snap: dict[str, Any] = page.evaluate(
        """(id) => {
            const card = document.querySelector(`[data-run="${id}"]`);
            const n = (name) => parseInt(
                card.querySelector(`[data-count="${name}"]`).textContent, 10);
            const cells = {passed: 0, failed: 0, error: 0};
            card.querySelectorAll('.cell').forEach(c => {
                for (const s of ['passed', 'failed', 'error']) {
                    if (c.classList.contains('c-' + s)) cells[s]++;
                }
            });
            return {status: card.getAttribute('data-status'), done: n('done'), passed: n('passed'),
                    failed: n('failed'), error: n('error'), cells,
                    progress: card.querySelector('[data-progress]').value};
        }""",
        run_id,
    )
    return snap


def _consistent(snap: dict[str, Any]) -> None:
    counts = {k: snap[k] for k in ("passed", "failed", "error")}
    assert counts == snap["cells"], snap
    assert snap["done"] == sum(counts.values()) == snap["progress"], snap


def _wait_done(page: Page, run_id: str, at_least: int) -> None:
    page.wait_for_function(
        """([id, n]) => {
            const el = document.querySelector(`[data-run="${id}"] [data-count="done"]`);
            return el && parseInt(el.textContent, 10) >= n;
        }""",
        arg=[run_id, at_least],
        timeout=30_000,
    )


def test_running_cards_count_live_and_a_reload_shows_the_same(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=N, latency_ms=300))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/events" in r.url else None)
    page.goto("/runs")
    with web.api() as api:
        body = {"suite_id": "board", "model": web.model(), "concurrency": 1}
        run_id = api.post("/api/runs", json=body).json()["id"]

        # Live: the counters move with the grid, over the page's one stream.
        _wait_done(page, run_id, 7)
        live = _snapshot(page, run_id)
        assert live["status"] == "running" and live["done"] < N, live
        _consistent(live)
        assert live["failed"] == 1 and live["error"] == 1  # c3 and c5
        # c5 was refused at its one attempt: no "after 0 failed attempts" line, and none
        # left under a later answer.
        expect(page.locator(f'[data-run="{run_id}"] [data-last-retry]')).to_be_hidden()
        assert len(streams) == 1, streams
        shoot(page, "runs-board-counts", full_page=False)

        # Reloaded mid-run: the page shows what is recorded so far, not zeros.
        page.reload()
        loaded = _snapshot(page, run_id)
        assert loaded["status"] == "running" and loaded["done"] >= live["done"], loaded
        _consistent(loaded)
        twin = next(c for c in api.get("/api/board").json()["cards"] if c["run"]["id"] == run_id)
        grid = twin["grid"]
        assert grid["done"] >= loaded["done"] and grid["failed"] == 1 and grid["errored"] == 1
        assert grid["done"] == grid["passed"] + grid["failed"] + grid["errored"]
        assert grid["done"] == sum(1 for c in grid["cells"] if c[0] != "pending")
        assert twin["run"]["counts"]["passed"] == 0  # the record sums them at the end

        # The dashboard's cards do the same, and its JSON twin carries the grid.
        dash = page.context.new_page()
        dash.goto("/")
        _wait_done(dash, run_id, loaded["done"])
        early = _snapshot(dash, run_id)
        assert early["done"] > 0, early
        _consistent(early)
        dash_twin = api.get("/api/dashboard").json()
        (card,) = [c for c in dash_twin["cards"] if c["run"]["id"] == run_id]
        assert card["grid"]["done"] >= early["done"] and card["grid"]["failed"] == 1
        assert axe_violations(dash) == []
        shoot(dash, "dashboard-counts", full_page=False)
        dash.close()

    # The reloaded board ends with every result counted once.
    expect(page.locator(f'[data-run="{run_id}"] [data-status]').first).to_have_text(
        "completed", timeout=30_000
    )
    final = _snapshot(page, run_id)
    assert (final["passed"], final["failed"], final["error"], final["done"]) == (N - 2, 1, 1, N)
    _consistent(final)
    assert axe_violations(page) == []


def test_events_repeated_after_a_reload_are_not_counted_twice(page: Page, web: WebApp) -> None:
    """The page's cursor is read before its counts, so the stream may repeat results the
    page already counted: the item events of every recorded result, sent again to a page
    rendered after them, change no counter."""
    web.register(board_suite(n=8, latency_ms=50))
    with web.api() as api:
        body = {"suite_id": "board", "model": web.model(), "concurrency": 2}
        run_id = api.post("/api/runs", json=body).json()["id"]

        def completed() -> bool:
            return bool(api.get(f"/api/runs/{run_id}").json()["status"] == "completed")

        web.wait_for(completed, timeout=30)
    recorded = web.store.result_statuses(run_id)
    frames = [
        f"id: {n + 1}\nevent: item\ndata: "
        + json.dumps(
            {"run_id": run_id, "case_id": case, "epoch": epoch, "status": status,
             "seq": int(case[1:]), "attempts": 1, "output": "again"}
        )
        + "\n\n"
        for n, ((case, epoch), status) in enumerate(sorted(recorded.items()))
    ]  # fmt: skip
    last = {"run_id": run_id, "case_id": "c0", "epoch": 0, "seq": 0, "question": "replayed"}
    frames.append(f"id: 99\nevent: started\ndata: {json.dumps(last)}\n\n")  # a marker
    replayed: list[str] = []

    def replay(route: Any) -> None:
        replayed.append(route.request.url)
        route.fulfill(
            status=200,
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            body="retry: 60000\n\n" + "".join(frames),
        )

    page.route("**/api/events?*", replay)
    page.goto("/runs")
    card = page.locator(f'[data-run="{run_id}"]')
    expect(card.locator("[data-now-question]")).to_have_text("replayed")  # all arrived
    final = _snapshot(page, run_id)
    assert replayed and (final["passed"], final["failed"], final["error"], final["done"]) == (
        6, 1, 1, 8,
    ), final  # fmt: skip
    _consistent(final)
