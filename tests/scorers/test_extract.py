"""extract: the pipeline, applied by the scorer set to every scorer type, and recorded."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.result import ScoreRecord
from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScorerSet, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.extract import parse_extraction

CASE = Case(id="c", expected="Paris")


def extract(raw: Any, text: str) -> tuple[str | None, str | None]:
    extraction = parse_extraction(raw, "t")
    assert extraction is not None
    return extraction.apply(text)


@pytest.mark.parametrize(
    ("raw", "text", "want"),
    [
        ({"regex": "Answer: (.*)"}, "Reasoning…\nAnswer: Paris ", "Paris "),
        ({"regex": r"(?P<answer>\d+) apples"}, "I have 12 apples", "12"),
        ({"regex": r"(\w+)-(?P<answer>\w+)"}, "ab-cd", "cd"),  # `answer` beats group 1
        ({"regex": r"\d+"}, "room 101, floor 3", "101"),  # no group: the whole match
        ({"regex": "(?i)answer: (.*)"}, "ANSWER: Lyon", "Lyon"),  # inline flags
        ("first-line", "\n\n  first\nsecond\n", "  first"),
        ("last-line", "first\nlast\n\n", "last"),
        ("strip", "  x \n", "x"),
        ("strip", "", ""),
        ("lower", "Straße ÉTÉ", "straße été"),
        ("upper", "paris", "PARIS"),
        (["strip", "lower"], "  Yes\n", "yes"),
        ({"json-path": "$.answer"}, '{"answer": "Paris", "n": 1}', "Paris"),
        ({"json-path": "$.n"}, '```json\n{"n": 1.5}\n```', "1.5"),
        ({"json-path": "$.a[1]"}, '{"a": [{"x": 1}, {"y": [true, null]}]}', '{"y":[true,null]}'),
        ({"json-path": "$.t"}, '{"t": "日本"}', "日本"),
        ("first-number", "Between 1,234 and 5", "1234"),
        ("last-number", "2 apples, 3 pears: −5.5 total", "-5.5"),
        ([{"regex": "Answer: (.*)"}, "strip"], "Answer:  Paris  ", "Paris"),
        (["last-line", "last-number"], "12 steps\nso 42 it is", "42"),
        ([{"regex": "```(.*?)```"}, {"json-path": "$.a"}], 'x ```{"a": "b"}``` y', "b"),
    ],
)
def test_extractors(raw: Any, text: str, want: str) -> None:
    assert extract(raw, text) == (want, None)


@pytest.mark.parametrize(
    ("raw", "text", "why"),
    [
        ({"regex": "Answer: (.*)"}, "no answer here", "extract regex /Answer: (.*)/: no match"),
        ({"regex": "(a)|(b)"}, "b", "group 1 took no part in the match"),
        ("first-line", " \n \n", "no non-blank line"),
        ("last-line", "", "no non-blank line"),
        ({"json-path": "$.a"}, "not json", "extract json-path $.a: not JSON"),
        ({"json-path": "$.a.b"}, '{"a": 1}', "$.a is a number, not an object"),
        ({"json-path": "$.a[3]"}, '{"a": [1]}', "has 1 item(s), no index 3"),
        ({"json-path": "$.b"}, '{"a": 1}', "$ has no key 'b'"),
        ("first-number", "no digits", "extract first-number: no number"),
        (["strip", "last-number"], "  ", "extract last-number: no number"),
    ],
)
def test_extractors_that_find_nothing(raw: Any, text: str, why: str) -> None:
    got, reason = extract(raw, text)
    assert got is None and reason is not None and why in reason


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"regex": "Answer: ("}, "invalid regular expression 'Answer: ('"),
        ({"regex": 3}, "needs a pattern string"),
        ("regex", "needs a pattern"),
        ({"json-path": "$..a"}, "recursive descent"),
        ({"json-path": "a.b"}, "must start with '$'"),
        ("json-path", "needs a path"),
        ("middle-line", "unknown extractor 'middle-line'; known: first-line"),
        ("last", "numeric's own choice of number is its option 'pick'"),
        ({"strip": "x"}, "takes no argument"),
        ({"regex": "a", "strip": None}, "is not an extractor"),
        ([], "empty list"),
        (42, "is not an extractor"),
    ],
)
def test_bad_extract_fails_at_build(raw: Any, message: str) -> None:
    spec = parse_scorer_spec({"equals": "x", "extract": raw})
    with pytest.raises(ValueError, match="scorer 'equals'") as info:
        build_scorer(spec)
    assert message in str(info.value)
    with pytest.raises(ValueError, match="extract"):
        ScorerSet.build([spec])


def test_extract_is_not_an_option_of_the_scorer() -> None:
    # `extract` never reaches the scorer's options (which forbid unknown keys) ...
    spec = parse_scorer_spec({"contains": {"value": "x", "extract": "strip"}})
    assert spec.config == {"extract": "strip"}
    scorer = build_scorer(spec)
    assert scorer.extraction is not None and scorer.extraction.label == "strip"
    # ... while a real unknown option still fails.
    with pytest.raises(ValueError, match="bad options"):
        build_scorer(parse_scorer_spec({"contains": "x", "extrakt": "strip"}))


async def score(raw: Any, output: str, case: Case = CASE) -> ScoreRecord:
    scorer_set = ScorerSet.build([parse_scorer_spec(raw)])
    records, _, _ = await scorer_set.score(ScoreContext(output=output, case=case), {})
    return records[0]


async def test_extracted_text_is_scored_and_recorded() -> None:
    raw = {"equals": "{{ expected }}", "extract": [{"regex": "Answer: (.*)"}, "strip"]}
    record = await score(raw, "Let me think. Answer:  Paris ")
    assert record.score == 1.0 and record.passed
    assert record.evidence.rationale == "extracted 'Paris': output equals the reference"
    assert record.evidence.details == {
        "extract": "regex /Answer: (.*)/ → strip",
        "extracted": "Paris",
    }
    assert record.spec["config"] == {"extract": [{"regex": "Answer: (.*)"}, "strip"]}


async def test_failed_extraction_scores_zero_not_error() -> None:
    record = await score({"equals": "Paris", "extract": {"regex": "Answer: (.*)"}}, "Paris")
    assert record.score == 0.0 and record.passed is False and record.error is None
    assert record.evidence.rationale == ("extract regex /Answer: (.*)/: no match; nothing to score")
    assert record.evidence.details == {"extract": "regex /Answer: (.*)/", "extracted": None}


async def test_failed_extraction_is_not_negated_nor_passed_by_threshold() -> None:
    # The scorer never ran: `not-` does not turn "no answer" into a pass, nor does a
    # threshold of 0.
    negated = await score({"not-contains": "x", "extract": "first-number"}, "none")
    assert negated.score == 0.0 and negated.passed is False
    low = await score({"type": "token-f1", "threshold": 0, "extract": "first-number"}, "none")
    assert low.score == 0.0 and low.passed is False


@pytest.mark.parametrize(
    ("raw", "output"),
    [
        ({"numeric": 42, "extract": "last-number"}, "Step 1: 40 + 2.\nSo 42"),
        ({"choice": None, "extract": "last-line"}, "I think (A) or (B)...\nAnswer: B"),
        ({"exact-match": "Paris", "extract": {"json-path": "$.city"}}, '{"city": "paris!"}'),
        ({"is-json": None, "extract": {"regex": "(?s)<json>(.*)</json>"}}, "<json>[1]</json>"),
        ({"bleu": "the cat sat", "extract": "first-line"}, "the cat sat\nnoise noise"),
        ({"not-is-refusal": None, "extract": "last-line"}, "I can't help myself.\nSure: 4"),
        ({"length": {"max": 2}, "extract": "first-number"}, "it is 12 or 13"),
        ({"python": "tests.scorers.python_scorer_fixture:shouts", "extract": "strip"}, " P "),
    ],
)
async def test_every_scorer_type_supports_extract(raw: Any, output: str) -> None:
    case = Case(id="c", expected="B", choices=["x", "y"])
    record = await score(raw, output, case)
    assert record.passed, record
    assert record.evidence.details is not None and record.evidence.details["extracted"]


async def test_extract_applies_to_async_scorers_too() -> None:
    from evalbook.scorers import SCORERS, ScoreOutcome, Scorer

    class EchoJudge(Scorer):
        async def score(self, ctx: ScoreContext) -> ScoreOutcome:
            return ScoreOutcome(score=1.0, rationale=f"saw {ctx.output}")

    SCORERS.register("echo-judge-test", EchoJudge, replace=True)
    try:
        record = await score({"echo-judge-test": None, "extract": "last-line"}, "a\nb")
    finally:
        SCORERS.unregister("echo-judge-test")
    assert record.evidence.rationale == "extracted 'b': saw b"
    assert record.evidence.details == {"extract": "last-line", "extracted": "b"}
