"""The launch sheet's two extras over HTTP: a JSONL or CSV dataset becomes a version of a
suite (``POST /api/suites/{id}/datasets``), and a run may bring an LLM judge
(``RunCreate.judge``), which makes a judged version of its suite. Problems name the
file's line or the field."""

from __future__ import annotations

import json

import httpx
import pytest

from evalbook.storage.store import Store
from tests.server.resources import MOCK, post_suite, suite_data

JSONL = "application/jsonl"


async def upload(
    api: httpx.AsyncClient, body: str | bytes, media: str = JSONL, **params: str
) -> httpx.Response:
    return await api.post(
        "/api/suites/qa/datasets",
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": media},
        params=params,
    )


def jsonl(*rows: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


async def test_a_dataset_becomes_a_version_of_the_suite(api: httpx.AsyncClient) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    rows = jsonl(
        {"id": "d1", "q": "what is 2+2? 4", "expected": "4", "section": "math"},
        {"id": "d2", "q": "capital of italy", "expected": "rome"},
    )
    created = await upload(api, rows, filename="more.jsonl")
    assert created.status_code == 201, created.text
    version = created.json()
    assert version["suite_id"] == "qa" and version["case_count"] == 2
    assert version["version"].startswith("data-")
    assert created.headers["location"] == f"/api/suites/qa/versions/{version['version']}"
    again = await upload(api, rows)
    assert again.status_code == 200 and again.json()["hash"] == version["hash"]

    shown = (await api.get(f"/api/suites/qa/versions/{version['version']}")).json()
    definition = shown["definition"]
    assert [c["id"] for c in definition["cases"]] == ["d1", "d2"]
    assert definition["cases"][0]["vars"] == {"q": "what is 2+2? 4"}
    assert definition["scorers"] == [{"contains": "{{ expected }}"}] or definition["scorers"]
    assert definition["prompt"]["name"] == "qa-prompt"  # the suite's prompt, kept

    csv = 'id,q,expected,tags\nk1,say hello,hello,a;b\nk2,"two, words",two,\n'
    named = await upload(api, csv, "text/csv", version="csv-1", base_version="1")
    assert named.status_code == 201, named.text
    assert named.json()["version"] == "csv-1" and named.json()["case_count"] == 2
    # The run launches on it like on any version.
    run = await api.post(
        "/api/runs", json={"suite_id": "qa", "suite_version": "csv-1", "model": MOCK}
    )
    assert run.status_code == 202, run.text
    assert run.json()["suite_version"] == "csv-1" and run.json()["counts"]["total"] == 2

    other = jsonl({"id": "x", "q": "other", "expected": "o"})
    clash = await upload(api, other, version="csv-1")
    assert clash.status_code == 409 and "immutable" in clash.json()["detail"]


@pytest.mark.parametrize(
    ("body", "media", "message"),
    [
        ('{"id": "a", "q": "x", "expected": "x"}\n{"id": "b", "q": oops}\n', JSONL,
         "bad.jsonl:2: invalid JSON"),
        ('{"id": "a", "q": "x", "expected": "x"}\n[1, 2]\n', JSONL, "bad.jsonl:2"),
        ('{"q": "x", "expected": "x"}\n{"q": "y", "section": 5}\n', JSONL, "bad.jsonl:2"),
        ('{"id": "a", "q": "x", "expected": "x", "scorers": ["non-empty"]}\n', JSONL,
         "bad.jsonl:1: scorers: not accepted"),
        ('{"id": "a", "q": "x", "expected": "x"}\n{"id": "a", "q": "y", "expected": "y"}\n',
         JSONL, "duplicate case id 'a'"),
        ("id,q,expected\na,x,x\nb,y\n", "text/csv", "bad.csv:3: row has 2 cells"),
        ("", JSONL, "the dataset has no rows"),
        (b"\xff\xfe not utf-8", JSONL, "not UTF-8"),
    ],
)  # fmt: skip
async def test_a_bad_dataset_names_the_line(
    api: httpx.AsyncClient, body: str | bytes, media: str, message: str
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    answer = await upload(api, body, media, filename="bad")
    assert answer.status_code == 422, answer.text
    assert message in json.dumps(answer.json()), answer.text
    assert len((await api.get("/api/suites/qa")).json()["versions"]) == 1  # nothing kept


async def test_dataset_uploads_refuse_other_media_and_unknown_suites(
    api: httpx.AsyncClient,
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    assert (await upload(api, "a,b\n", "application/yaml")).status_code == 415
    missing = await api.post(
        "/api/suites/nope/datasets", content=b"{}", headers={"Content-Type": JSONL}
    )
    assert missing.status_code == 404


async def test_a_run_with_a_judge_uses_a_judged_version_of_its_suite(
    api: httpx.AsyncClient, store: Store
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    judge = {"provider": "openai-compatible", "name": "judge-model",
             "base_url": "http://127.0.0.1:9/v1"}  # fmt: skip
    body = {"suite_id": "qa", "model": MOCK, "judge": {"model": judge, "rubric": "Polite?"}}
    estimate = await api.post("/api/runs/estimate", json=body)
    assert estimate.status_code == 200, estimate.text
    assert len((await api.get("/api/suites/qa")).json()["versions"]) == 1  # nothing recorded

    created = await api.post("/api/runs", json=body)
    assert created.status_code == 202, created.text
    version = created.json()["suite_version"]
    assert version.startswith("1+judge-")
    scorers = (await api.get(f"/api/suites/qa/versions/{version}")).json()["definition"]["scorers"]
    judged = [s for s in scorers if "llm-judge" in json.dumps(s)]
    assert len(judged) == 1 and "Polite?" in json.dumps(judged[0])
    assert "judge-model" in json.dumps(judged[0])
    # The same judge again: the same version.
    assert (await api.post("/api/runs", json=body)).json()["suite_version"] == version
    # A run that asks for no judge gets none: a judged version is never the latest.
    plain = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
    assert plain.json()["suite_version"] == "1"

    criteria = {**body, "judge": {"model": judge, "criteria": ["concision", "relevance"]}}
    other = await api.post("/api/runs", json=criteria)
    assert other.status_code == 202, other.text
    assert other.json()["suite_version"] not in (version, "1")


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"model": "mock:echo"}, "judge.rubric"),
        ({"model": "mock:echo", "rubric": "x", "criteria": ["concision"]}, "judge.rubric"),
        ({"model": "mock:echo", "criteria": ["wit"]}, "unknown criterion 'wit'"),
        ({"model": "python:os:getcwd", "rubric": "x"}, "judge.model"),
        ({"model": {"provider": "openai", "name": "x", "base_url": "http://evil.example/v1"},
          "rubric": "x"}, "judge.model"),
        ({"rubric": "x"}, "judge"),
    ],
)  # fmt: skip
async def test_a_bad_judge_is_refused_naming_the_field(
    api: httpx.AsyncClient, judge: dict[str, object], message: str
) -> None:
    assert (await post_suite(api, suite_data())).status_code == 201
    answer = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK, "judge": judge})
    assert answer.status_code == 422, answer.text
    assert message in json.dumps(answer.json()), answer.text
    assert len((await api.get("/api/suites/qa")).json()["versions"]) == 1
