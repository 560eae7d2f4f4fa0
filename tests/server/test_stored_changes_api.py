"""A result stored with changes says so in the API: an output past the storage limit is
listed as truncated (from how many bytes to the limit), a NUL replaced as such, in
``GET /api/runs/{id}/results`` and ``GET /api/runs/{id}/results/{case}`` — on SQLite and
PostgreSQL (which refuses a NUL in text)."""

from __future__ import annotations

from typing import Any

import pytest

import evalbook
from evalbook.storage.store import Store
from evalbook.storage.stored_changes import StoredChange, format_bytes
from evalbook.suites import load_suite_from_dict

from .resources import serve

LIMIT = 20_000
HOSTILE = "<script>window.pwned=1</script>" * 2_000  # 62,000 bytes


def hostile_suite() -> dict[str, Any]:
    """The mock model echoes the prompt: ``huge`` answers past the limit, ``nul`` with a
    NUL character, ``plain`` as it is."""
    return {
        "id": "stored",
        "name": "Stored changes",
        "prompt": '{{ q }}{% if nul %}{{ "\\x00" }}end{% endif %}',
        "cases": [
            {"id": "plain", "vars": {"q": "hello", "nul": False}},
            {"id": "huge", "vars": {"q": HOSTILE, "nul": False}},
            {"id": "nul", "vars": {"q": "before", "nul": True}},
        ],
    }


async def test_results_list_what_was_changed_to_store_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", str(LIMIT))
    run = await evalbook.arun(load_suite_from_dict(hostile_suite()), model="mock:echo", store=store)
    assert run.status == "completed"
    async with serve(store) as (api, _):
        page = (await api.get(f"/api/runs/{run.id}/results")).json()
        changes = {r["case_id"]: r["stored_changes"] for r in page["items"]}
        assert changes["plain"] == []
        output = next(c for c in changes["huge"] if c["field"] == "output")
        assert output["change"] == "truncated" and output["limit"] == LIMIT
        assert output["bytes"] == len(HOSTILE)
        assert output["note"] == "output truncated from 60.5 KiB to 19.5 KiB when stored"
        assert [c["field"] for c in changes["huge"]] == ["prompt", "output", "messages", "input"]
        assert changes["nul"] == [
            {
                "field": field,
                "change": "NUL replaced by U+FFFD",
                "bytes": None,
                "limit": None,
                "note": f"{field}: NUL characters replaced by U+FFFD when stored",
            }
            for field in ("prompt", "output", "body")
        ]
        one = (await api.get(f"/api/runs/{run.id}/results/huge")).json()
        assert one["stored_changes"] == changes["huge"]
        assert one["output"].endswith("(EVALBOOK_MAX_STORED_BYTES)]")
        nul = (await api.get(f"/api/runs/{run.id}/results/nul")).json()
        assert "\ufffd" in nul["output"] and nul["stored_changes"] == changes["nul"]


def test_notes_say_what_changed() -> None:
    cut = StoredChange("output", "truncated", bytes=40 * 2**20, limit=16 * 2**20)
    assert cut.note == "output truncated from 40 MiB to 16 MiB when stored" and cut.truncated
    nul = StoredChange("scores.judge.evidence", "NUL replaced by U+FFFD")
    assert nul.note == "scores.judge.evidence: NUL characters replaced by U+FFFD when stored"
    assert StoredChange.of({"change": "truncated"}) is None  # not a change we wrote
    assert [format_bytes(n) for n in (1, 900, 2048, 1_500_000, 3 * 2**30)] == [
        "1 byte", "900 bytes", "2 KiB", "1.4 MiB", "3 GiB",
    ]  # fmt: skip
