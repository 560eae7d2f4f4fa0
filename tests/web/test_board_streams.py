"""The board multiplexes: twenty active runs, one event stream per tab."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.web.harness import WebApp
from tests.web.suites import board_suite


def test_twenty_active_runs_share_one_event_stream(page: Page, web: WebApp) -> None:
    web.register(board_suite(n=6, latency_ms=400))
    with web.api() as api:
        for _ in range(20):
            body = {"suite_id": "board", "model": web.model(), "concurrency": 1}
            assert api.post("/api/runs", json=body).status_code == 202
    streams: list[Any] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/events" in r.url else None)
    page.goto("/runs")
    cards = page.locator("[data-run]")
    expect(cards).to_have_count(20, timeout=30_000)
    # Cells turn from pending as the runs proceed, all over one stream.
    passed = page.locator(".cell.c-passed")
    at_load = passed.count()
    page.wait_for_function(
        "n => document.querySelectorAll('.cell.c-passed').length > n", arg=at_load, timeout=60_000
    )
    assert len(streams) == 1, streams
