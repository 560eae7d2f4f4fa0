"""Hostile output that could not be stored as it was says so in the run inspector: an
answer past the storage limit (holding ``<script>``) is marked "cut when stored" with
"output truncated from … to … when stored", a NUL replaced as such, the same notes as
the JSON twin — and the output stays inert."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.server.test_stored_changes_api import LIMIT, hostile_suite
from tests.web.harness import BOTH_DATABASES, WebApp, axe_violations, shoot

pytestmark = BOTH_DATABASES


def test_the_inspector_says_what_was_changed_to_store_a_result(
    page: Page, web: WebApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", str(LIMIT))
    web.register(hostile_suite())
    with web.api() as api:
        run_id = api.post("/api/runs", json={"suite_id": "stored", "model": "mock:echo"}).json()[
            "id"
        ]
        web.wait_for(lambda: api.get(f"/api/runs/{run_id}").json()["status"] == "completed")
        twin = {r["case_id"]: r for r in api.get(f"/api/runs/{run_id}/results").json()["items"]}

    page.goto(f"/runs/{run_id}?case=huge")
    huge = page.locator('[data-case="huge"]')
    expect(huge.locator("summary")).to_contain_text("cut when stored")
    notes = huge.locator("[data-stored-changes]")
    expect(notes).to_be_visible()  # the linked case is open
    expect(notes).to_contain_text("Stored with changes")
    expect(notes.locator('[data-field="output"]')).to_have_text(
        "output truncated from 60.5 KiB to 19.5 KiB when stored"
    )
    assert notes.locator("li").all_inner_texts() == [
        c["note"] for c in twin["huge"]["stored_changes"]
    ]
    expect(huge).to_contain_text("(EVALBOOK_MAX_STORED_BYTES)]")  # the marker at the cut
    assert page.evaluate("() => window.pwned") is None  # the <script> answer is text
    shoot(page, "inspector-stored-changes")

    nul = page.locator('[data-case="nul"]')
    expect(nul.locator("summary")).to_contain_text("changed when stored")
    nul.locator("summary").click()
    expect(nul.locator('[data-stored-changes] [data-field="output"]')).to_have_text(
        "output: NUL characters replaced by U+FFFD when stored"
    )
    assert nul.locator("[data-stored-changes] li").all_inner_texts() == [
        c["note"] for c in twin["nul"]["stored_changes"]
    ]
    plain = page.locator('[data-case="plain"]')
    expect(plain.locator("summary")).not_to_contain_text("when stored")
    expect(plain.locator("[data-stored-changes]")).to_have_count(0)
    assert twin["plain"]["stored_changes"] == []
    twin_link = page.locator("footer a", has_text="JSON")
    assert twin_link.get_attribute("href") == f"/api/runs/{run_id}/results"
    violations = axe_violations(page)
    assert violations == [], "\n".join(violations)
