"""The JSONPath subset: what it selects, and what it rejects when compiled."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.scorers.builtin.json_path import compile_json_path

DOC = {
    "a": {"b": [{"c": 1}, {"c": [10, 20, 30]}]},
    "first name": "Ada",
    "x.y": True,
    "it's": None,
    "日本": "東京",
    "list": [],
}


@pytest.mark.parametrize(
    ("path", "steps", "value"),
    [
        ("$", (), DOC),
        ("$.a.b[0].c", ("a", "b", 0, "c"), 1),
        ("$.a.b[1].c[-1]", ("a", "b", 1, "c", -1), 30),
        ("$.a.b[ 1 ].c[0]", ("a", "b", 1, "c", 0), 10),
        ("$['first name']", ("first name",), "Ada"),
        ('$["x.y"]', ("x.y",), True),
        (r"$['it\'s']", ("it's",), None),
        ("$['日本']", ("日本",), "東京"),
        ("$.list", ("list",), []),
        ("  $.a  ", ("a",), DOC["a"]),
    ],
)
def test_selects(path: str, steps: tuple[Any, ...], value: Any) -> None:
    compiled = compile_json_path(path)
    assert compiled.steps == steps
    assert compiled.find(DOC) == (True, value)


@pytest.mark.parametrize(
    ("path", "document", "why"),
    [
        ("$.missing", DOC, "$ has no key 'missing'"),
        ("$.a.b[2]", DOC, "$.a.b has 2 item(s), no index 2"),
        ("$.a.b[-3]", DOC, "no index -3"),
        ("$.a[0]", DOC, "$.a is an object, not an array"),
        ("$.a.b.c", DOC, "$.a.b is an array, not an object"),
        ("$.first", {"first": "x"}, "no key"),  # fine so far ...
        ("$.first.x", {"first": "x"}, "$.first is a string, not an object"),
        ("$[0]", 5, "$ is a number, not an array"),
        ("$.a", None, "$ is null, not an object"),
        ("$.a", [1], "$ is an array, not an object"),
    ],
)
def test_reports_what_is_missing(path: str, document: Any, why: str) -> None:
    found, reason = compile_json_path(path).find(document)
    if path == "$.first":
        assert found and reason == "x"
        return
    assert not found and why in reason


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a.b", "must start with '$'"),
        ("", "must start with '$'"),
        ("$..a", "recursive descent"),
        ("$.*", "wildcards"),
        ("$.a[*]", "wildcards"),
        ("$.a[0:2]", "slices"),
        ("$.a[:2]", "slices"),
        ("$.a[0,1]", "unions"),
        ("$.a[?(@.b > 1)]", "filters"),
        ("$.a.", "this syntax"),
        ("$.1a", "this syntax"),
        ("$a", "this syntax"),
        ("$.a[b]", "this syntax"),
        ("$['a]", "this syntax"),
    ],
)
def test_rejects_what_is_outside_the_subset(path: str, message: str) -> None:
    with pytest.raises(ValueError, match="JSON path") as info:
        compile_json_path(path)
    assert message in str(info.value) and repr(path) in str(info.value)


def test_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        compile_json_path(3)
