"""starts-with, length, contains-json, json-path, latency, cost: hand-computed verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, ScorerSet, build_scorer, parse_scorer_spec


def run(raw: Any, output: str | None, expected: Any = None, **ctx: Any) -> ScoreOutcome:
    spec = parse_scorer_spec(raw)
    context = ScoreContext(output=output, case=Case(id="c", expected=expected), value=spec.value)
    outcome = build_scorer(spec).score(
        ScoreContext(**{**context.__dict__, **ctx}) if ctx else context
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("raw", "output", "expected", "passed"),
    [
        ({"starts-with": "YES"}, "YES, because…", None, True),
        ({"starts-with": "YES"}, "\n  YES", None, True),  # leading whitespace ignored
        ({"starts-with": {"value": "YES", "strip": False}}, " YES", None, False),
        ({"starts-with": "YES"}, "yes", None, False),
        ({"starts-with": {"value": "YES", "case_sensitive": False}}, "yes!", None, True),
        ({"starts-with": {"value": "STRASSE", "case_sensitive": False}}, "Straße 5", None, True),
        ({"starts-with": ["A:", "B:"]}, "B: fine", None, True),
        ({"starts-with": ["A:", "B:"]}, "C: no", None, False),
        ({"starts-with": "日本"}, "日本語", None, True),
        ({"starts-with": "x"}, "", None, False),
        ({"starts-with": "x"}, None, None, False),
        ({"starts-with": ""}, "", None, True),
        ({"not-starts-with": "Sorry"}, "Sure", None, True),
    ],
)
def test_starts_with(raw: Any, output: str | None, expected: Any, passed: bool) -> None:
    outcome = run(raw, output, expected)
    assert outcome.passed is passed and outcome.score == float(passed)


def test_starts_with_rationale() -> None:
    assert run({"starts-with": "A"}, "B then A").rationale == "starts with 'B then A', not 'A'"


@pytest.mark.parametrize(
    ("options", "output", "passed", "count"),
    [
        ({"max": 5}, "hello", True, "5"),
        ({"max": 5}, "  hello \n", True, "5"),  # surrounding whitespace not counted
        ({"max": 4}, "hello", False, "5"),
        ({"min": 6}, "hello", False, "5"),
        ({"min": 1, "max": 1, "unit": "words"}, "Paris", True, "1"),
        ({"max": 3, "unit": "words"}, "one two  three\nfour", False, "4"),
        ({"max": 2, "unit": "words"}, "don't panic", True, "2"),
        ({"max": 3}, "日本語", True, "3"),  # code points, not bytes
        ({"max": 1}, "e\u0301", False, "2"),  # a combining accent is a code point
        ({"min": 0, "max": 0}, "", True, "0"),
        ({"min": 1}, None, False, "0"),
        ({"min": 1, "unit": "words"}, "   ", False, "0"),
    ],
)
def test_length(options: dict[str, Any], output: str | None, passed: bool, count: str) -> None:
    outcome = run({"length": options}, output)
    assert outcome.passed is passed and outcome.label == count


def test_length_rationale() -> None:
    assert run({"length": {"max": 2}}, "abc").rationale == "3 chars, more than the maximum 2"
    assert run({"length": {"min": 1, "max": 9}}, "abc").rationale == "3 chars, between 1 and 9"


@pytest.mark.parametrize(
    ("raw", "output", "passed"),
    [
        ("contains-json", 'Here you go: {"a": 1} — done', True),
        ("contains-json", "Items: [1, 2, 3].", True),
        ("contains-json", '```json\n{"a": [1, {"b": null}]}\n```', True),
        ("contains-json", "Set {x} and [y] are not JSON, but {} is", True),
        ("contains-json", "see {not json} and [also, not]", False),
        ("contains-json", '{"a": 1', False),  # truncated
        ("contains-json", "just 42 and true", False),  # scalars do not count
        ("contains-json", "", False),
        ("contains-json", None, False),
        ("contains-json", '{"城市": "東京"}', True),
        ({"contains-json": {"container": "object"}}, "see [1] and [2]", False),
        ({"contains-json": {"container": "object"}}, 'see [1] and {"a": 2}', True),
        ({"contains-json": {"container": "array"}}, '{"a": [1]}', True),  # nested array
        ({"contains-json": {"container": "array"}}, '{"a": 1}', False),
        ("not-contains-json", "plain prose", True),
    ],
)
def test_contains_json(raw: Any, output: str | None, passed: bool) -> None:
    assert run(raw, output).passed is passed


def test_contains_json_gives_up_on_bracket_floods() -> None:
    text = "[" * 5000 + " no json"
    assert run("contains-json", text).passed is False


@pytest.mark.parametrize(
    ("raw", "output", "expected", "passed"),
    [
        ({"json-path": {"path": "$.a.b[0].c", "value": 3}}, '{"a": {"b": [{"c": 3}]}}', None, True),
        ({"json-path": {"path": "$.a", "value": 3}}, '{"a": 3.0}', None, True),
        ({"json-path": {"path": "$.a", "value": 3}}, '{"a": "3"}', None, False),
        ({"json-path": {"path": "$.a", "value": True}}, '{"a": 1}', None, False),
        ({"json-path": {"path": "$.a", "value": 1}}, '{"a": true}', None, False),
        (
            {"json-path": {"path": "$.a", "value": {"x": [1, 2]}}},
            '{"a": {"x": [1, 2.0]}}',
            None,
            True,
        ),
        ({"json-path": {"path": "$.a", "value": [1, 2]}}, '{"a": [2, 1]}', None, False),
        ({"json-path": {"path": "$.city"}}, '```json\n{"city": "Paris"}\n```', "Paris", True),
        ({"json-path": {"path": "$.ok", "value": "true"}}, '{"ok": true}', None, True),
        ({"json-path": {"path": "$.v", "value": "null"}}, '{"v": null}', None, True),
        ({"json-path": {"path": "$.v", "value": "null"}}, '{"v": 0}', None, False),
        ({"json-path": {"path": "$.t", "value": "東京"}}, '{"t": "東京"}', None, True),
        ({"json-path": {"path": "$.a", "value": 1}}, '{"b": 1}', None, False),
        ({"json-path": {"path": "$.a", "value": 1}}, "not json", None, False),
        ({"json-path": {"path": "$.a", "value": 1}}, "", None, False),
    ],
)
def test_json_path(raw: Any, output: str, expected: Any, passed: bool) -> None:
    assert run(raw, output, expected).passed is passed


def test_json_path_needs_a_reference() -> None:
    with pytest.raises(ValueError, match="has no value and no expected"):
        run({"json-path": {"path": "$.v"}}, '{"v": null}')
    with pytest.raises(ValueError, match="no expected value"):
        build_scorer(parse_scorer_spec({"json-path": {"path": "$.v"}})).check_case(Case(id="c"))


@pytest.mark.parametrize(
    ("raw", "output", "expected"),
    [
        ({"json-path": {"path": "$.n", "value": "{{ expected }}"}}, '{"n": 42}', 42),
        ({"starts-with": "{{ expected }}"}, "Paris is…", "Paris"),
        ({"starts-with": None}, "Paris is…", "Paris"),
    ],
)
async def test_templated_references(raw: Any, output: str, expected: Any) -> None:
    scorer_set = ScorerSet.build([parse_scorer_spec(raw)])
    case = Case(id="c", expected=expected)
    (record,), _, _ = await scorer_set.score(ScoreContext(output=output, case=case), {})
    assert record.passed, record


def test_json_path_rationale() -> None:
    out = run({"json-path": {"path": "$.a[1]", "value": 2}}, '{"a": [1, 5]}')
    assert out.rationale == "$.a[1] is 5, expected 2" and out.label == "5"
    missing = run({"json-path": {"path": "$.a.b", "value": 2}}, '{"a": [1]}')
    assert missing.rationale == "$.a.b: $.a is an array, not an object"


@pytest.mark.parametrize(
    ("raw", "ctx", "passed"),
    [
        ({"latency": 2000}, {"latency_ms": 1999.5}, True),
        ({"latency": 2000}, {"latency_ms": 2000}, True),
        ({"latency": 2000}, {"latency_ms": 2000.1}, False),
        ({"latency": "1,500"}, {"latency_ms": 1400}, True),
        ({"cost": 0.01}, {"cost_usd": 0.0}, True),
        ({"cost": 0.01}, {"cost_usd": 0.0100001}, False),
        ({"cost": 0}, {"cost_usd": 0.0}, True),
        ({"not-latency": 100}, {"latency_ms": 150}, True),
    ],
)
def test_ceilings(raw: Any, ctx: dict[str, Any], passed: bool) -> None:
    assert run(raw, "x", **ctx).passed is passed


def test_ceiling_rationale_and_label() -> None:
    out = run({"cost": 0.01}, "x", cost_usd=0.02)
    assert (
        out.rationale == "cost 0.02 USD, over the ceiling of 0.01 USD" and out.label == "0.02 USD"
    )


@pytest.mark.parametrize(("raw", "what"), [({"cost": 0.01}, "cost"), ({"latency": 9}, "latency")])
async def test_unknown_measure_is_a_scorer_error_never_a_pass(raw: Any, what: str) -> None:
    with pytest.raises(ValueError, match=f"the result's {what} is unknown"):
        run(raw, "x")
    scorer_set = ScorerSet.build([parse_scorer_spec(raw)])
    (record,), _, passed = await scorer_set.score(ScoreContext(output="x", case=Case(id="c")), {})
    assert record.score is None and record.passed is False and not passed
    assert record.error is not None and "unknown" in record.error


async def test_templated_ceiling() -> None:
    spec = parse_scorer_spec({"latency": "{{ budget }}"})
    scorer_set = ScorerSet.build([spec])
    ctx = ScoreContext(output="x", case=Case(id="c"), latency_ms=50)
    (ok,), _, _ = await scorer_set.score(ctx, {"budget": 60})
    (over,), _, _ = await scorer_set.score(ctx, {"budget": 40})
    assert ok.passed and not over.passed
