"""A finished run over HTTP: results with filters and pages, feedback, metrics, exports in
the CLI's formats, and comparisons equal to the library's."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

import evalbook
from evalbook.analysis.compare.runs import compare_runs
from evalbook.analysis.feedback import human_verdicts
from evalbook.io.export import to_string
from evalbook.server.routes.results import _stream
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from tests.server.resources import MOCK, finished_run, suite_data


async def test_results_filter_and_page(api: httpx.AsyncClient, store: Store) -> None:
    run = await finished_run(store)
    base = f"/api/runs/{run.id}/results"

    async def cases(**params: object) -> list[str]:
        response = await api.get(base, params=params)
        assert response.status_code == 200, response.text
        return [r["case_id"] for r in response.json()["items"]]

    assert await cases() == ["c1", "c2", "c3", "c4"]
    assert await cases(failed_only="true") == ["c3"]
    assert await cases(section="geo") == ["c1", "c3"]
    assert await cases(q="PARIS") == ["c1"]  # output text, any case
    assert await cases(q="c4") == ["c4"]  # case id
    assert await cases(q="100%_") == []  # LIKE wildcards are plain text
    assert await cases(section="geo", failed_only="true") == ["c3"]

    walked, link = [], f"{base}?limit=3"
    while link:
        page = (await api.get(link)).json()
        walked += [r["case_id"] for r in page["items"]]
        link = page["next"]
    assert walked == ["c1", "c2", "c3", "c4"]
    assert (await api.get(base, params={"limit": 500})).status_code == 422

    one = (await api.get(f"{base}/c3")).json()
    assert one["status"] == "failed" and one["scores"][0]["type"] == "contains"
    # The stored result, and what was changed to store it (nothing here).
    assert one == {
        **json.loads(store.get_result(run.id, "c3").model_dump_json()),
        "stored_changes": [],
    }
    assert (await api.get(f"{base}/zz")).status_code == 404
    assert (await api.get(f"{base}/c3", params={"epoch": 1})).status_code == 404


async def test_feedback_is_appended_and_summarised(api: httpx.AsyncClient, store: Store) -> None:
    run = await finished_run(store)
    path = f"/api/runs/{run.id}/feedback"
    first = await api.post(path, json={"case_id": "c1", "score": 0.5, "author": "ana"})
    assert first.status_code == 201, first.text
    again = await api.post(
        path, json={"case_id": "c1", "score": 1.0, "author": "ana", "comment": "on reflection"}
    )
    assert again.status_code == 201
    await api.post(path, json={"case_id": "c2", "label": "good", "author": "bo"})
    listed = (await api.get(path)).json()
    assert [(f["case_id"], f["score"]) for f in listed["items"]] == [
        ("c1", 0.5),
        ("c1", 1.0),
        ("c2", None),
    ]
    (summary,) = listed["summary"]
    assert summary["name"] == "human" and summary["mean"] == 1.0 and summary["n"] == 1
    assert summary["authors"] == {"ana": 1, "bo": 1} and summary["labels"] == {"good": 1}
    record = (await api.get(f"/api/runs/{run.id}")).json()
    assert json.loads(record["feedback_scores"])["human"]["mean"] == 1.0

    paged = (await api.get(path, params={"limit": 2})).json()
    assert len(paged["items"]) == 2 and paged["next"] is not None
    assert len((await api.get(paged["next"])).json()["items"]) == 1

    for bad in (
        {"case_id": "c1"},  # says nothing
        {"case_id": "c1", "score": "1"},  # strict
        {"case_id": "zz", "score": 1.0},  # no such case
        {"case_id": "c1", "score": 1.0, "extra": 1},
    ):
        answer = await api.post(path, json=bad)
        assert answer.status_code in (404, 422), bad
    assert len((await api.get(path)).json()["items"]) == 3


async def test_metrics_are_the_runs(api: httpx.AsyncClient, store: Store) -> None:
    run = await finished_run(store)
    body = (await api.get(f"/api/runs/{run.id}/metrics")).json()
    assert body["summary"]["score"] == 0.75 == run.score
    by_key = {(m["scope"], m["name"]): m for m in body["metrics"]}
    assert by_key["run", "pass_rate"]["value"] == 0.75 and by_key["run", "pass_rate"]["n"] == 4
    assert by_key["section", "geo"]["value"] == 0.5
    assert len(body["metrics"]) == len(store.get_metrics(run.id))


async def test_exports_are_the_clis_formats(api: httpx.AsyncClient, store: Store) -> None:
    run = await finished_run(store)
    await api.post(f"/api/runs/{run.id}/feedback", json={"case_id": "c2", "score": 0.25})
    run = store.get_run(run.id)
    human = human_verdicts(store, run.id)
    for fmt, media in (
        ("jsonl", "application/x-ndjson"),
        ("json", "application/json"),
        ("csv", "text/csv"),
    ):
        response = await api.get(f"/api/runs/{run.id}/export", params={"format": fmt})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert f'{run.id}.{fmt}"' in response.headers["content-disposition"]
        assert response.text == to_string(run, store.iter_results(run.id), fmt, human)
    lines = (await api.get(f"/api/runs/{run.id}/export")).text.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 5  # 4 results × 1 scorer + the human feedback record
    assert [r["scorer"]["type"] for r in records].count("human") == 1
    array = json.loads((await api.get(f"/api/runs/{run.id}/export?format=json")).text)
    assert array == records
    rows = list(
        csv.DictReader(io.StringIO((await api.get(f"/api/runs/{run.id}/export?format=csv")).text))
    )
    assert [r["case_id"] for r in rows] == [r["case_id"] for r in records]
    assert (await api.get(f"/api/runs/{run.id}/export?format=xml")).status_code == 422


async def test_a_large_export_streams_in_chunks(store: Store) -> None:
    data = suite_data("big")
    data["cases"] = [{"id": f"k{i:04d}", "vars": {"q": "x" * 200 + str(i)}, "expected": "x"}
                     for i in range(600)]  # fmt: skip
    run = await evalbook.arun(load_suite_from_dict(data), model=MOCK, store=store)
    chunks = list(_stream(store, run, "jsonl", {}))  # what the response sends, as sent
    assert len(chunks) > 3 and all(len(c) < 200_000 for c in chunks)
    assert b"".join(chunks).decode() == to_string(run, store.iter_results(run.id), "jsonl")
    stream = _stream(store, run, "csv", {})
    next(stream)
    stream.close()  # the client went away: the writer thread stops


async def test_compare_is_the_librarys(api: httpx.AsyncClient, store: Store) -> None:
    a = await finished_run(store)
    b = await finished_run(store, prompt_version=1)
    response = await api.get("/api/compare", params={"baseline": a.id, "candidate": b.id})
    assert response.status_code == 200, response.text
    expected = compare_runs(store, a.id, b.id).model_dump(mode="json")
    assert response.json() == json.loads(json.dumps(expected))
    same = await api.get("/api/compare", params={"baseline": a.id, "candidate": a.id})
    assert same.status_code == 422
    missing = await api.get("/api/compare", params={"baseline": a.id, "candidate": "nope"})
    assert missing.status_code == 404
    assert (await api.get("/api/compare", params={"baseline": a.id})).status_code == 422


async def test_a_page_of_large_results_ends_early_and_next_goes_on(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EVALBOOK_MAX_PAGE_BYTES``: a page of large results holds fewer than ``limit``
    (never none), and ``next`` reads on from its last result: every result once."""
    monkeypatch.setenv("EVALBOOK_MAX_PAGE_BYTES", "100000")
    sizes = [10, 15_000, 15_000, 10, 10, 60_000, 10]
    suite = {
        "id": "sizes",
        "model": MOCK,
        "prompt": "{{ q }}",
        "scorers": [{"contains": "x"}],
        "cases": [{"id": f"c{i}", "vars": {"q": "x" * n}} for i, n in enumerate(sizes)],
    }
    run = await evalbook.arun(load_suite_from_dict(suite), store=store)
    pages, link = [], f"/api/runs/{run.id}/results?limit=5"
    while link:
        page = (await api.get(link)).json()
        pages.append([r["case_id"] for r in page["items"]])
        link = page["next"]
    assert pages == [["c0", "c1"], ["c2", "c3", "c4"], ["c5"], ["c6"]]
    big = (await api.get(f"/api/runs/{run.id}/results/c5")).json()
    assert len(big["output"]) == 60_000  # the results themselves are whole
    monkeypatch.setenv("EVALBOOK_MAX_PAGE_BYTES", "none")
    refused = await api.get(f"/api/runs/{run.id}/results")
    assert refused.status_code == 422 and "EVALBOOK_MAX_PAGE_BYTES" in refused.text
