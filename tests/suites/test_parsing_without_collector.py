"""Parsing a big suite (a YAML file, a body sent to the server, an uploaded dataset)
builds millions of objects that all stay alive until the suite is made: Python's cyclic
collector is paused meanwhile (its passes, triggered by those allocations, walked them
again and again: a third to a half of the parse), and on again afterwards. Without the
pause, parsing these suites of 3,000 cases takes a dozen collections or more."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from evalbook.server.suite_upload import parse_suite
from evalbook.suites import load_suite_from_dict
from evalbook.suites.derive import suite_with_dataset
from evalbook.suites.yaml_lines import parse_yaml

N = 3000


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations collected while the test runs."""
    seen: list[int] = []

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    assert gc.isenabled()
    gc.callbacks.append(watch)
    try:
        yield seen
    finally:
        gc.callbacks.remove(watch)


def _cases() -> list[dict[str, Any]]:
    return [{"id": f"c{i}", "vars": {"q": f"question {i}", "n": i}} for i in range(N)]


def _yaml() -> str:
    lines = ["id: s", "prompt: '{{ q }}'", "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{q: question {i}, n: {i}}}}}" for i in range(N)]
    return "\n".join(lines) + "\n"


def _dataset() -> tuple[str, Callable[[], Any]]:
    text = "".join(json.dumps({"id": f"c{i}", "q": f"q {i}"}) + "\n" for i in range(N))
    base = load_suite_from_dict({"id": "b", "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}}]})
    return text, lambda: suite_with_dataset(base, text, "rows.jsonl")


def test_a_yaml_file_parses_without_collections(collections: list[int]) -> None:
    text = _yaml()
    collections.clear()  # (what building the text collected)
    value = parse_yaml(text, "big.yaml")
    assert len(value["cases"]) == N
    assert len(collections) <= 1  # (once on again, the pass that moves them on)
    assert gc.isenabled()


@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_a_suite_body_parses_without_collections(content_type: str, collections: list[int]) -> None:
    body = {"id": "s", "prompt": "{{ q }}", "cases": _cases()}
    sent = (json.dumps(body) if content_type == "application/json" else _yaml()).encode()
    collections.clear()
    suite = parse_suite(sent, content_type)
    assert len(suite.cases) == N
    assert len(collections) <= 1  # (once on again, the pass that moves them on)
    assert gc.isenabled()


def test_an_uploaded_dataset_makes_its_suite_without_collections(
    collections: list[int],
) -> None:
    _, make = _dataset()
    collections.clear()  # (the base suite's own load)
    suite = make()
    assert len(suite.cases) == N
    assert len(collections) <= 1  # (once on again, the pass that moves them on)
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_refused_body() -> None:
    with pytest.raises(Exception, match="invalid JSON"):
        parse_suite(b"{not json", "application/json")
    assert gc.isenabled()
