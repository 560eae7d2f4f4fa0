"""What the user wrote is what is sent, byte for byte: the request body a real HTTP server
receives holds the template's text exactly, trailing newlines included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evalbook
from evalbook.storage.store import Store
from evalbook.suites import load_suite
from evalbook.testing import TestServerConfig, run_test_server_in_thread
from evalbook.testing.openai_server import OpenAICompatibleTestServer

from .helpers import server_model

QUESTION = "What is 6 × 7?\n(answer in digits)"


@pytest.fixture(scope="module")
def recording_server() -> Iterator[OpenAICompatibleTestServer]:
    with run_test_server_in_thread(TestServerConfig(record_bodies=True)) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: what is sent does not depend on where it is recorded."""
    opened = Store.open(f"sqlite:///{tmp_path / 'fidelity.db'}")
    yield opened
    opened.close()


def _sent(server: OpenAICompatibleTestServer) -> list[dict[str, Any]]:
    return [json.loads(body)["messages"] for body in server.bodies]


@pytest.mark.parametrize("newlines", [0, 1, 2])
@pytest.mark.parametrize("with_variables", [False, True])
async def test_request_body_holds_the_template_byte_for_byte(
    store: Store,
    recording_server: OpenAICompatibleTestServer,
    tmp_path: Path,
    newlines: int,
    with_variables: bool,
) -> None:
    recording_server.reset()
    body = "Question: {{ question }}\nAnswer:" if with_variables else "Say hello.\nNow:"
    template = body + "\n" * newlines
    system = "Be terse." + "\n" * newlines
    suite_file = tmp_path / "suite.yaml"
    # JSON is valid YAML and spells every newline out, so the file holds exactly `template`.
    suite_file.write_text(
        json.dumps(
            {
                "id": "fidelity",
                "model": server_model(recording_server.base_url),
                "prompt": {"system": system, "template": template},
                "cases": [{"id": "c1", "vars": {"question": QUESTION}}],
            }
        )
    )
    run = await evalbook.arun(load_suite(suite_file), store=store, use_cache=False)
    assert run.counts.total == 1 and run.counts.errored == 0

    [messages] = _sent(recording_server)
    want = template.replace("{{ question }}", QUESTION)
    assert messages == [
        {"role": "system", "content": system},
        {"role": "user", "content": want},
    ]
    assert messages[1]["content"].endswith("\n" * newlines)
    assert not messages[1]["content"].endswith("\n" * (newlines + 1))
    # The record keeps what was sent, too.
    [result] = store.iter_results(run.id)
    assert result.messages[-1].content == want
