"""A dataset row's case JSON is assembled from its fields (``row_case_json``) rather than
dumped: it must be the very text the dump gives (the suite hash is taken of it), for every
kind of JSON value a row can hold, and fall back to the dump where JSON has no number."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from evalbook.core.identity import canonical_json
from evalbook.core.suite import Case, case_json, row_case_json
from evalbook.suites.datasets import case_from_row

ROWS: list[dict[str, Any]] = [
    {"id": "a", "q": "2+2?"},
    {"id": "b", "q": 'é ✓ "quoted" \\ tab\t\n\u2028 \x00 \x1f', "n": 3.5, "big": 10**30},
    {"id": "c", "expected": {"z": [1, 2.0, -0.0, 1e300, None, True]}, "section": "s"},
    {"id": "d", "expected": "5", "tags": ["x", "é"], "choices": ["a", "b"],
     "metadata": {"b": 1, "a": {"d": [], "c": {}}}},
    {"id": "e", "vars": {"nested": {"y": 1, "x": [{"b": 2, "a": 1}]}}, "expected": 7},
    {"id": "f", "expected": False, "choices": [], "tags": [], "metadata": {}},
    {"id": "g", "q": "", "expected": ""},
    {"id": "h", "vars": {}},
    {"id": "😀", "q": "astral 😀 and lone \ud800 surrogate"},
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[str(r["id"]) for r in ROWS])
def test_a_rows_case_json_is_the_dumps_text(row: dict[str, Any]) -> None:
    case = Case.model_validate(case_from_row(json.loads(json.dumps(row))))
    assert row_case_json(case) == case_json(case)
    assert json.loads(row_case_json(case)) == case.model_dump(mode="json")


def test_a_number_json_cannot_write_takes_the_dump() -> None:
    """NaN and infinities (which Python's JSON reader accepts) are written as the dump
    writes them (null), not refused."""
    row = json.loads('{"id": "n", "vars": {"x": NaN, "y": Infinity}, "expected": -Infinity}')
    case = Case.model_validate(row)
    assert math.isnan(case.vars["x"])
    assert row_case_json(case) == case_json(case)
    assert '"vars":{"x":null,"y":null}' in row_case_json(case)


def test_a_case_with_messages_or_scorers_takes_the_dump() -> None:
    case = Case.model_validate(
        {
            "id": "m",
            "messages": [{"role": "user", "content": "hi {{ q }}"}],
            "vars": {"q": 1},
            "scorers": [{"type": "contains", "value": "x"}],
        }
    )
    assert row_case_json(case) == case_json(case) == canonical_json(case.model_dump(mode="json"))
