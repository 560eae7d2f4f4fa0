"""Derived-metric arithmetic: parsed with ``ast``, never run as code."""

from __future__ import annotations

import pytest

from evalbook.stats.expression import ExpressionError, evaluate, names_of, parse_expression


@pytest.mark.parametrize(
    ("text", "values", "want"),
    [
        ("2 * precision * recall / (precision + recall)", {"precision": 3, "recall": 1}, 1.5),
        ("-a + 2 ** 3", {"a": 1}, 7.0),
        ("missing + 1", {}, 1.0),  # a metric no result scored counts 0
        ("a / b", {"a": 1, "b": 0}, None),  # no value, never a made-up one
        ("2 ** 5000", {}, None),
        ("(-8) ** 0.5", {}, None),
    ],
)
def test_evaluate(text: str, values: dict[str, float], want: float | None) -> None:
    assert evaluate(parse_expression(text), values) == want


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('x')", "a.b", "a[0]", "a if b else c", "a < b", "'x'", "a // b",
     "lambda: 1", "True + 1", "a +"],
)  # fmt: skip
def test_anything_but_arithmetic_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_names() -> None:
    assert names_of(parse_expression("tp / (tp + fp) * __count")) == {"tp", "fp", "__count"}
