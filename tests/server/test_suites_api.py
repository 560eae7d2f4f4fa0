"""Suites and prompts over HTTP: register (JSON or YAML), immutable versions, what a suite
sent over the API may not do, and workspace scoping."""

from __future__ import annotations

import httpx
import pytest

from evalbook.storage.store import Store
from tests.server.resources import finished_run, post_suite, suite_data, workspace_keys

YAML_SUITE = """\
id: yaml-suite
version: "3"
prompt: "Say {{ word }}"
scorers: [non-empty]
cases:
  - id: one
    vars: {word: hi}
  - id: two
    vars: {word: bye}
"""


async def test_register_a_suite_then_versions_are_immutable(api: httpx.AsyncClient) -> None:
    created = await post_suite(api, suite_data())
    assert created.status_code == 201
    body = created.json()
    assert body["suite_id"] == "qa" and body["version"] == "1" and body["case_count"] == 4
    assert created.headers["location"] == "/api/suites/qa/versions/1"

    again = await post_suite(api, suite_data())
    assert again.status_code == 200 and again.json()["hash"] == body["hash"]

    edited = suite_data()
    edited["cases"] = edited["cases"][:2]
    conflict = await post_suite(api, edited)
    assert conflict.status_code == 409
    assert "immutable" in conflict.json()["detail"]

    newer = await post_suite(api, suite_data(version="2", cases=edited["cases"]))
    assert newer.status_code == 201

    suite = (await api.get("/api/suites/qa")).json()
    assert [v["version"] for v in suite["versions"]] == ["1", "2"]
    assert suite["latest_version"] == "2"
    one = (await api.get("/api/suites/qa/versions/1")).json()
    assert one["hash"] == body["hash"] and len(one["definition"]["cases"]) == 4
    bare = (await api.get("/api/suites/qa/versions/1", params={"cases": "false"})).json()
    assert "cases" not in bare["definition"] and bare["case_count"] == 4
    assert (await api.get("/api/suites/qa/versions/9")).status_code == 404
    assert (await api.get("/api/suites/nope")).status_code == 404


async def test_a_suite_as_yaml_and_its_errors_name_the_line(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/suites", content=YAML_SUITE, headers={"Content-Type": "application/yaml"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["version"] == "3"

    broken = YAML_SUITE.replace("vars: {word: bye}", "vars: {word: bye}\n    bogus: 1")
    bad = await api.post("/api/suites", content=broken, headers={"Content-Type": "text/yaml"})
    assert bad.status_code == 422
    assert "<request body>:10:" in bad.json()["detail"] and "bogus" in bad.json()["detail"]

    aliases = "id: x\nprompt: &p hi\ncases: [{vars: {a: *p}}]\n"
    refused = await api.post("/api/suites", content=aliases, headers={"Content-Type": "text/yaml"})
    assert refused.status_code == 422 and "aliases" in refused.json()["detail"]

    other = await api.post("/api/suites", content="id: x", headers={"Content-Type": "image/png"})
    assert other.status_code == 415
    for junk in ("[1, 2]", "{", '"text"'):
        answer = await api.post(
            "/api/suites", content=junk, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, junk
    nested = "[" * 100_000 + "]" * 100_000
    deep = await api.post(
        "/api/suites", content=nested, headers={"Content-Type": "application/json"}
    )
    assert deep.status_code == 422


@pytest.mark.parametrize(
    ("scorer", "message"),
    [
        ({"python": "os:getcwd"}, "runs code"),
        ("python:os:getcwd", "runs code"),
        ({"type": "code-exec", "value": "assert True"}, "runs code"),
        ({"llm-judge": "polite?", "judge": "python:os:getcwd"}, "runs code"),
        (
            {"llm-judge": "polite?", "judge": {"provider": "openai", "name": "x",
                                              "base_url": "http://evil.example/v1"}},
            "base_url",
        ),
        ({"llm-judge": "polite?", "judge": {"provider": "openai", "name": "x",
                                           "api_key": "sk-live"}}, "secret"),
        ({"embedding-similarity": {"model_path": "/etc"}}, "server's files"),
    ],
)  # fmt: skip
async def test_suites_sent_over_http_cannot_run_code_or_reach_secrets(
    api: httpx.AsyncClient, scorer: object, message: str
) -> None:
    data = suite_data(scorers=[scorer])
    response = await post_suite(api, data)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    per_case = suite_data()
    per_case["cases"][0]["scorers"] = [scorer]
    assert (await post_suite(api, per_case)).status_code == 422


async def test_files_cannot_be_read_through_a_suite(api: httpx.AsyncClient) -> None:
    include = suite_data(cases=[{"file": "/etc/passwd"}])
    assert (await post_suite(api, include)).status_code == 422
    image = suite_data()
    image["cases"][0]["assets"] = [{"path": "/etc/hostname"}]
    response = await post_suite(api, image)
    assert response.status_code == 422 and "base directory" in response.json()["detail"]


async def test_suites_and_prompts_are_scoped_by_workspace(
    api: httpx.AsyncClient, store: Store
) -> None:
    keys = workspace_keys(store)
    assert (await post_suite(api, suite_data(), keys["team-a"])).status_code == 201
    assert (await api.get("/api/suites/qa", headers=keys["team-a"])).status_code == 200
    assert (await api.get("/api/suites/qa", headers=keys["team-b"])).status_code == 404
    assert (await api.get("/api/suites", headers=keys["team-b"])).json()["items"] == []
    versions = await api.get("/api/prompts/qa-prompt/versions", headers=keys["team-b"])
    assert versions.status_code == 404
    # The same id and version mean other cases in another workspace: no conflict there.
    other = suite_data(cases=suite_data()["cases"][:1])
    assert (await post_suite(api, other, keys["team-b"])).status_code == 201

    prompts = (await api.get("/api/prompts", headers=keys["team-a"])).json()
    assert prompts["items"] == [{"name": "qa-prompt", "versions": [1, 2], "latest": 2}]
    listed = (await api.get("/api/prompts/qa-prompt/versions", headers=keys["team-a"])).json()
    assert [(v["version"], v["system"]) for v in listed] == [(1, None), (2, "Be brief.")]
    two = await api.get("/api/prompts/qa-prompt/versions/2", headers=keys["team-a"])
    assert two.json()["messages"] == [{"role": "user", "content": "Question: {{ q }}"}]
    assert (
        await api.get("/api/prompts/qa-prompt/versions/3", headers=keys["team-a"])
    ).status_code == 404


async def test_a_workspace_sees_the_suites_and_prompts_its_runs_used(
    api: httpx.AsyncClient, store: Store
) -> None:
    await finished_run(store)  # the Python API records runs in workspace `default`
    suites = (await api.get("/api/suites")).json()["items"]
    assert [s["id"] for s in suites] == ["qa"]
    prompts = (await api.get("/api/prompts")).json()["items"]
    assert prompts == [{"name": "qa-prompt", "versions": [2], "latest": 2}]


async def test_suite_lists_page_with_a_cap(api: httpx.AsyncClient) -> None:
    for i in range(5):
        assert (await post_suite(api, suite_data(f"s{i}"))).status_code == 201
    first = (await api.get("/api/suites", params={"limit": 2})).json()
    assert [s["id"] for s in first["items"]] == ["s0", "s1"]
    seen = [s["id"] for s in first["items"]]
    link = first["next"]
    while link:
        page = (await api.get(link)).json()
        seen += [s["id"] for s in page["items"]]
        link = page["next"]
    assert seen == [f"s{i}" for i in range(5)]
    assert (await api.get("/api/suites", params={"limit": 201})).status_code == 422
    assert (await api.get("/api/suites", params={"limit": 0})).status_code == 422
