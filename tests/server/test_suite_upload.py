"""A suite sent by a client: a NUL anywhere in it is refused (PostgreSQL cannot store
one), however the body writes it, and so is a YAML alias; a body that cannot hold either
is not walked or scanned for them (a third of parsing a 100,000-case suite)."""

from __future__ import annotations

import json

import httpx
import pytest

from evalbook.errors import SuiteError
from evalbook.server import suite_upload
from evalbook.server.suite_upload import parse_suite

JSON = "application/json"
YAML = "application/yaml"


def _json(q: str) -> bytes:
    return json.dumps({"id": "s", "prompt": "{{ q }}", "cases": [{"vars": {"q": q}}]}).encode()


def _yaml(q: str) -> bytes:
    return f'id: s\nprompt: "{{{{ q }}}}"\ncases:\n  - vars: {{q: {q}}}\n'.encode()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_json("a\x00b"), JSON),  # json.dumps writes it \u0000
        (b'{"id": "s", "prompt": "{{ q }}", "cases": [{"vars": {"a\\u0000": 1}}]}', JSON),
        (_yaml('"a\\0b"'), YAML),
        (_yaml('"a\\x00b"'), YAML),
        (_yaml('"a\\u0000b"'), YAML),
        (_yaml('"a\\U00000000b"'), YAML),
    ],
)
def test_a_nul_however_written_is_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(SuiteError, match="cannot contain NUL"):
        parse_suite(body, content_type)


@pytest.mark.parametrize(
    ("body", "content_type", "walked"),
    [
        (_json("plain"), JSON, False),
        (_json("a \\ backslash, \\u0041"), JSON, False),  # written \\\\ and \\\\u0041
        (_yaml("'single \\0 quoted'"), YAML, True),  # no NUL, but \\0 is in the text
        (_yaml('"tab\\tand \\x41"'), YAML, False),
        (_yaml("plain"), YAML, False),
    ],
)
def test_a_body_that_cannot_hold_a_nul_is_not_walked_for_one(
    body: bytes, content_type: str, walked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = suite_upload._refuse_nul
    monkeypatch.setattr(suite_upload, "_refuse_nul", lambda data: calls.append(real(data)))
    suite = parse_suite(body, content_type)
    assert len(suite.cases) == 1
    assert bool(calls) is walked


def test_yaml_aliases_are_refused_and_a_star_alone_is_not_one() -> None:
    with pytest.raises(SuiteError, match="aliases are not accepted"):
        parse_suite(b"id: s\nprompt: &p hi\ncases: [{vars: {a: *p}}]\n", YAML)
    # Read by the Python parser when libyaml refuses the text (a lone surrogate's escape):
    # the alias is still found.
    lone = b'id: s\nprompt: &p "\\udfff"\ncases: [{vars: {a: *p}}]\n'
    with pytest.raises(SuiteError, match="aliases are not accepted"):
        parse_suite(lone, YAML)
    suite = parse_suite(_yaml("'5 * 3 = **15**'"), YAML)
    assert suite.cases[0].vars == {"q": "5 * 3 = **15**"}


async def test_a_nul_in_a_suite_sent_over_http_is_a_422(api: httpx.AsyncClient) -> None:
    for body, content_type in ((_json("a\x00b"), JSON), (_yaml('"a\\0b"'), YAML)):
        sent = await api.post("/api/suites", content=body, headers={"Content-Type": content_type})
        assert sent.status_code == 422, sent.text
        assert "NUL" in sent.json()["detail"]
