"""Every built-in scorer round-trips through parse_scorer_spec / spec_to_dict and builds
again from its canonical form; bad specs fail at build with a message naming the problem."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.suite import ScorerKind
from evalbook.scorers import SCORERS, build_scorer, parse_scorer_spec, spec_to_dict

#: One or more spec forms per scorer added with the reference and heuristic metrics.
FORMS: list[Any] = [
    {"starts-with": "YES"},
    {"starts-with": {"value": ["A", "B"], "case_sensitive": False, "strip": False}},
    {"length": {"max": 280}},
    {"length": {"min": 1, "max": 3, "unit": "words"}, "weight": 2},
    {"levenshtein": "Paris"},
    {"levenshtein": {"value": "Paris", "case_sensitive": False}, "threshold": 0.9},
    {"fuzzy": {"value": ["a b", "b a"], "method": "token-set-ratio", "process": False}},
    "is-refusal",
    "not-is-refusal",
    {"is-refusal": {"window": 100, "phrases": ["je ne peux pas"]}},
    "contains-json",
    {"contains-json": {"container": "object"}},
    {"json-path": {"path": "$.a.b[0].c", "value": 3}},
    {"json-path": {"path": "$['first name']"}, "metric": "name-ok"},
    {"latency": 2000},
    {"cost": 0.01},
    {"not-latency": "{{ budget }}"},
    "is-sql",
    {"is-sql": {"multiple": True}},
    "is-html",
    "is-xml",
    "exact-match",
    {"exact-match": ["Paris", "Paris, France"]},
    {"token-f1": "{{ expected }}", "threshold": 0.7},
    "bleu",
    {"bleu": {"value": "ref", "tokenize": "intl", "lowercase": True, "smooth_method": "floor"}},
    {"chrf": {"value": "ref", "word_order": 2}},
    "rouge-1",
    {"rouge-2": {"value": "ref", "stemmer": True}},
    {"rouge-l": "ref"},
    "embedding-similarity",
    {"embedding-similarity": "ref", "threshold": 0.8},
    {"equals": "Paris", "extract": [{"regex": "Answer: (.*)"}, "strip"]},
    {"numeric": {"value": 42, "pick": "last", "extract": {"json-path": "$.n"}}},
    {"not-contains": "x", "extract": "last-line"},
    {"llm-judge": "Is it polite?", "judge": "openai:gpt-4o-mini"},
    {"llm-judge": {"panel": ["openai:a", "anthropic:b"], "criteria": ["faithfulness"]}},
    {
        "llm-judge": {
            "judge": {"provider": "ollama", "name": "llama3", "temperature": 0.2},
            "criteria": ["concision", {"name": "tone", "scale": [0, 1], "pass_at": 1}],
            "template": "rubric@1",
        },
        "name": "quality",
    },
    "human",
    {"human": {"criterion": "helpfulness", "scale": [1, 5]}},
]


def _id(raw: Any) -> str:
    return raw if isinstance(raw, str) else next(iter(raw))


@pytest.mark.parametrize("raw", FORMS, ids=[_id(f) for f in FORMS])
def test_round_trip_and_build(raw: Any) -> None:
    spec = parse_scorer_spec(raw)
    canonical = spec_to_dict(spec)
    assert parse_scorer_spec(canonical) == spec
    scorer = build_scorer(parse_scorer_spec(canonical))
    assert isinstance(scorer.kind, ScorerKind)


def test_every_registered_builtin_has_a_form_here_or_in_the_older_tests() -> None:
    older = {"equals", "contains", "icontains", "regex", "is-json", "json-schema", "numeric"}
    older |= {"choice", "non-empty", "python", "code-exec"}
    covered = {_id(f).removeprefix("not-") for f in FORMS} | older
    new = {
        "starts-with",
        "length",
        "levenshtein",
        "fuzzy",
        "is-refusal",
        "contains-json",
        "json-path",
        "latency",
        "cost",
        "is-sql",
        "is-html",
        "is-xml",
        "exact-match",
        "token-f1",
        "bleu",
        "chrf",
        "rouge-1",
        "rouge-2",
        "rouge-l",
        "embedding-similarity",
    }
    assert new <= set(SCORERS.names()) and new <= covered


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"length": {}}, "give min, max or both"),
        ({"length": {"min": 5, "max": 3}}, "min (5) is greater than max (3)"),
        ({"length": {"min": -1}}, "min: Input should be greater than or equal to 0"),
        ({"length": {"max": 3, "unit": "bytes"}}, "unit: Input should be 'chars' or 'words'"),
        ({"json-path": {"value": 1}}, "path: Field required"),
        ({"json-path": {"path": "$..a", "value": 1}}, "recursive descent"),
        ({"json-path": {"path": "a.b", "value": 1}}, "must start with '$'"),
        ({"latency": None}, "needs a value"),
        ({"latency": -5}, "needs a ceiling in ms (a number ≥ 0), not -5"),
        ({"cost": "cheap"}, "needs a ceiling in USD"),
        ({"starts-with": {"value": "x", "ignore_case": True}}, "ignore_case: Extra inputs"),
        ({"fuzzy": {"value": "x", "method": "jaro"}}, "method: Input should be"),
        ({"bleu": {"value": "x", "tokenize": "spm"}}, "tokenize: Input should be"),
        ({"rouge-1": {"value": "x", "use_stemmer": True}}, "use_stemmer: Extra inputs"),
        ({"is-refusal": {"window": 0}}, "window: Input should be greater than or equal to 1"),
        ({"contains-json": {"container": "scalar"}}, "container: Input should be"),
        (
            {"is-sql": {"dialect": "postgres"}},
            "takes no value, got {'dialect': 'postgres'} (options: multiple)",
        ),
        ({"is-html": "x"}, "takes no value"),
        ({"exact-match": {"value": {"a": 1}}}, "needs a text reference"),
        ({"equals": "x", "extract": {"regex": "(unclosed"}}, "invalid regular expression"),
        ({"equals": "x", "extract": {"json-path": "$.a[*]"}}, "wildcards"),
        ({"numeric": {"value": 1, "extract": "last"}}, "its option 'pick'"),
    ],
)
def test_bad_specs_fail_at_build(raw: Any, message: str) -> None:
    spec = parse_scorer_spec(raw)
    with pytest.raises(ValueError, match=f"scorer '{spec.type}'") as info:
        build_scorer(spec)
    assert message in str(info.value)
