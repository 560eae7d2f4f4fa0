"""The spec helpers every importer shares: the erroring ``unsupported`` scorer and the
suite id made from a source's name."""

from __future__ import annotations

import pytest

from evalbook.importers._specs import suite_slug, unsupported_spec
from evalbook.suites import load_suite_from_dict


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("Match.dev.v0", "match.dev.v0"),
        ("  My Task / v2 ", "my-task-v2"),
        (".hidden-", "hidden"),
        ("???", "fallback"),
    ],
)
def test_suite_slug(name: str, want: str) -> None:
    assert suite_slug(name, "fallback") == want


def test_an_unsupported_spec_loads_and_names_where_it_came_from() -> None:
    spec = unsupported_spec("lm-eval", "metric bleu", "metric-bleu", "task.yaml", 12, "why")
    assert spec["location"] == "task.yaml:12"
    assert unsupported_spec("x", "f", "f", "task.yaml", None, "why")["location"] == "task.yaml"
    suite = load_suite_from_dict(
        {"id": "s", "prompt": "{{ q }}", "cases": [{"vars": {"q": "a"}, "scorers": [spec]}]}
    )
    assert suite.cases[0].scorers[0].type == "unsupported"
