"""Prompt versions belong to a workspace: another workspace may hold the same prompt name and
version with other content, can neither read nor overwrite this one's, and is not told that
it exists."""

from __future__ import annotations

import httpx

from evalbook.storage.store import Store
from tests.server.resources import MOCK, post_suite, suite_data, workspace_keys


def _other_content() -> dict[str, object]:
    data = suite_data()
    data["prompt"] = {
        "name": "qa-prompt",
        "versions": {1: {"template": "B asks: {{ q }}"}, 2: {"template": "B again: {{ q }}"}},
    }
    return data


async def test_two_workspaces_hold_the_same_prompt_version_with_other_content(
    api: httpx.AsyncClient, store: Store
) -> None:
    keys = workspace_keys(store)
    a, b = keys["team-a"], keys["team-b"]
    assert (await post_suite(api, suite_data(), a)).status_code == 201
    # Not a 422 ("already recorded with different content"): that told B that A has it.
    created = await post_suite(api, _other_content(), b)
    assert created.status_code == 201, created.text

    mine = await api.get("/api/prompts/qa-prompt/versions/1", headers=a)
    theirs = await api.get("/api/prompts/qa-prompt/versions/1", headers=b)
    assert mine.json()["messages"] == [{"role": "user", "content": "Q: {{ q }}"}]
    assert theirs.json()["messages"] == [{"role": "user", "content": "B asks: {{ q }}"}]
    assert mine.json()["hash"] != theirs.json()["hash"]
    assert (await api.get("/api/prompts/qa-prompt/versions/2", headers=a)).json()[
        "system"
    ] == "Be brief."  # B's version 2 did not overwrite A's

    # A workspace with none of it: 404 for the prompt, its versions and a version.
    c = keys["default"]
    for path in ("/api/prompts/qa-prompt/versions", "/api/prompts/qa-prompt/versions/1"):
        missing = await api.get(path, headers=c)
        assert missing.status_code == 404, path
        assert "Q: {{ q }}" not in missing.text and "B asks" not in missing.text
    assert (await api.get("/api/prompts", headers=c)).json()["items"] == []

    # Runs record and later read their own workspace's version.
    for headers, text in ((a, "Q: {{ q }}"), (b, "B asks: {{ q }}")):
        run = await api.post(
            "/api/runs",
            json={"suite_id": "qa", "model": MOCK, "prompt_version": 1},
            headers=headers,
        )
        assert run.status_code == 202, run.text
        recorded = store.get_run(run.json()["id"])
        body = store.get_prompt_version(
            recorded.prompt_name, recorded.prompt_version, workspace_id=recorded.workspace_id
        )
        assert body.messages[0].content == text
        assert recorded.prompt_hash == body.hash


async def test_a_workspace_cannot_overwrite_its_own_version_either(
    api: httpx.AsyncClient, store: Store
) -> None:
    keys = workspace_keys(store)
    assert (await post_suite(api, suite_data(), keys["team-a"])).status_code == 201
    edited = _other_content()
    edited["id"] = "qa2"  # another suite, the same prompt name and numbers
    refused = await post_suite(api, edited, keys["team-a"])
    assert refused.status_code == 422 and "immutable" in refused.json()["detail"]
    one = await api.get("/api/prompts/qa-prompt/versions/1", headers=keys["team-a"])
    assert one.json()["messages"] == [{"role": "user", "content": "Q: {{ q }}"}]
