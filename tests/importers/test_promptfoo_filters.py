"""promptfoo's per-test options and filters: what maps (vars overrides, metadata,
transform and its older name postprocess, disableVarExpansion) and what is reported with
its file and line (threshold, prefix, storeOutputAs); provider/prompt filters map to
case_filters; the echo
config runs offline with the verdicts the mapping gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalbook.importers import import_file
from evalbook.importers.promptfoo._asserts import transform_extractors

from .helpers import FIXTURES, evalbook, run_json, statuses

FILTERS = FIXTURES / "promptfoo" / "filters" / "promptfooconfig.yaml"


def _cases() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in import_file("promptfoo", FILTERS).data["cases"]}


def test_what_maps() -> None:
    imported = import_file("promptfoo", FILTERS)
    assert imported.report.summary() == "10 of 10 assertions mapped; 2 other constructs not mapped"
    cases = _cases()
    assert list(cases) == [f"test-{i}" for i in range(1, 10)]
    # defaultTest vars, then the test's own win
    assert cases["test-1"]["vars"] == {"animal": "cat", "sound": "meow"}
    assert cases["test-2"]["vars"] == {"animal": "dog", "sound": "woof"}
    assert cases["test-3"]["vars"] == {"animal": "cat", "sound": "quack"}
    # metadata kept, with the description
    assert cases["test-2"]["metadata"] == {
        "owner": "kennel",
        "difficulty": 2,
        "description": "the test's vars override the defaults",
    }
    # defaultTest's postprocess (trim) is every test's transform unless a test has its own
    assert cases["test-1"]["scorers"] == [
        {"type": "icontains", "value": "meow", "extract": ["strip"]}
    ]
    assert cases["test-3"]["scorers"] == [
        {"type": "starts-with", "value": "Sound:", "strip": False, "extract": ["last-line"]}
    ]
    # a test's postprocess upper-casing the output is the `upper` extractor
    assert cases["test-4"]["scorers"] == [
        {"type": "contains", "value": "CAT", "extract": ["upper"]}
    ]
    # disableVarExpansion keeps the list as one value; without it, one case per value
    assert cases["test-5"]["vars"]["sound"] == ["purr", "hiss"]
    assert [cases["test-6"]["vars"]["sound"], cases["test-7"]["vars"]["sound"]] == ["purr", "hiss"]
    # the threshold: the test's assertions as one set, passing at half their weight
    assert cases["test-8"]["scorers"] == [
        {
            "type": "assert-set",
            "threshold": 0.5,
            "value": [
                {"type": "contains", "value": "meow", "extract": ["strip"]},
                {"type": "contains", "value": "bark", "extract": ["strip"]},
            ],
        }
    ]  # (defaultTest's postprocess trims the output of each)


def test_what_is_reported_with_file_and_line(tmp_path: Path) -> None:
    report = import_file("promptfoo", FILTERS).report
    notes = {(n.feature, n.line, n.mapped): n.message for n in report.notes}
    assert "older name of transform" in notes[("options.postprocess", 50, True)]
    assert not any(feature == "threshold" for feature, _l, _m in notes)
    # the prompt filter maps: test-9 runs with the plain prompt (version 1) only
    assert "case_filters" in notes[("tests.providers/prompts", 77, True)]
    assert import_file("promptfoo", FILTERS).data["case_filters"] == {
        "test-9": {"prompt_versions": [1]}
    }
    assert "does not change a prompt per case" in notes[("options.prefix", 79, False)]
    assert "not fed into later tests" in notes[("options.storeOutputAs", 80, False)]
    assert not any(line == 52 for _f, line, _m in notes)  # the postprocess maps
    out = tmp_path / "suite.yaml"
    proc = evalbook("import", "promptfoo", str(FILTERS), "-o", str(out), check=0)
    assert f"{FILTERS}:79: options.prefix: not mapped" in proc.stderr
    assert "10 of 10 assertions mapped; 2 other constructs not mapped" in proc.stderr


def test_runs_offline_with_the_mapped_verdicts() -> None:
    record = run_json(str(FILTERS), "--no-cache", "--prompt-version", "1")
    assert statuses(record["id"]) == {
        "test-1": "passed",
        "test-2": "passed",  # woof, and no meow: the test's vars won
        "test-3": "passed",  # the last line starts with "Sound:"
        "test-4": "passed",  # the upper-cased echo holds CAT
        "test-5": "passed",  # the list as one value contains purr
        "test-6": "failed",  # expanded: purr has no hiss
        "test-7": "passed",
        "test-8": "passed",  # meow but no bark: 0.5 of the weight, promptfoo's threshold
        "test-9": "passed",
    }


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("output.trim()", ["strip"]),
        ("output.split('\\n')[0]", ["first-line"]),
        ("output.split('\\n').pop()", ["last-line"]),
        ('output.split("\\n").at(-1)', ["last-line"]),
        ("return output.trim().split('\\n').slice(-1)[0];", ["strip", "last-line"]),
        ("output.split('\\n').pop().toLowerCase()", None),
        ("output.split(',').pop()", None),
        ("output.toLowerCase()", ["lower"]),
        ("output.trim().toUpperCase()", ["strip", "upper"]),
        ("output.answer", [{"json-path": "$.answer"}]),
        ("output.result.items[0]", [{"json-path": "$.result.items[0]"}]),
        ("output.length", None),
        ("output.replace(/a/g, '')", None),
    ],
)
def test_transform_expressions(expr: str, want: list[str] | None) -> None:
    assert transform_extractors(expr) == want


@pytest.mark.parametrize(
    ("code", "want"),
    [
        ('output.includes("Paris")', {"type": "contains", "value": "Paris"}),
        ("return output.toLowerCase().includes('paris');", {"type": "icontains", "value": "paris"}),
        ("!output.includes('sorry')", {"type": "not-contains", "value": "sorry"}),
        ("output.startsWith('Hi')", {"type": "starts-with", "value": "Hi", "strip": False}),
        ("output.length <= 80", {"type": "length", "unit": "chars", "max": 80}),
        ("output.length > 3", {"type": "length", "unit": "chars", "min": 4}),
        ("output.toLowerCase().includes('Paris')", None),  # never true in JavaScript
        # a score of 1 or 0: promptfoo passes a score over 0 (its threshold unset)
        ("output.length < 50 ? 1 : 0", {"type": "length", "unit": "chars", "max": 49}),
        ("(output.includes('a')) ? true : false", {"type": "contains", "value": "a"}),
        ("output.length < 50 ? 1 : 0.5", None),
    ],
)
def test_one_line_javascript_reads_as_a_scorer(code: str, want: dict[str, Any] | None) -> None:
    from evalbook.importers._model import ImportReport
    from evalbook.importers.promptfoo._asserts import AssertMapper

    report = ImportReport("promptfoo", "c.yaml")
    (spec,) = AssertMapper(report).map_one({"type": "javascript", "value": code}, "c.yaml", 3)
    if want is None:
        assert spec["type"] == "unsupported" and report.assertions_mapped == 0
    else:
        assert spec == want and report.assertions_mapped == 1


def test_a_pass_fail_ternary_against_a_threshold_above_one_stays_code() -> None:
    from evalbook.importers._model import ImportReport
    from evalbook.importers.promptfoo._asserts import AssertMapper

    report = ImportReport("promptfoo", "c.yaml")
    raw = {"type": "javascript", "value": "output.length < 50 ? 1 : 0", "threshold": 2}
    (spec,) = AssertMapper(report).map_one(raw, "c.yaml", 3)
    assert spec["type"] == "unsupported"  # a score of 1 never reaches 2 in promptfoo


def _two_providers(tmp_path: Path, first: str = "echo") -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Say {{word}}']\n"
        f"providers: [{first}, openai:chat:gpt-4o-mini]\n"
        "tests:\n"
        "  - vars: {word: only-openai}\n"
        "    providers: ['openai:*']\n"
        "  - vars: {word: only-first}\n"
        f"    providers: [{first}]\n"
        "  - vars: {word: everywhere}\n"
    )
    return path


def test_model_override_naming_one_of_the_suites_models_keeps_its_case_filters(
    tmp_path: Path,
) -> None:
    # `mock:echo` is what promptfoo's echo maps to: that model, its filters as written
    proc = evalbook("run", str(_two_providers(tmp_path)), "--model", "mock:echo", "--json")
    assert "stands in" not in proc.stderr
    record = json.loads(proc.stdout)
    assert statuses(record["id"]) == {"test-2": "passed", "test-3": "passed"}


def test_model_override_naming_no_suite_model_stands_in_for_all_and_says_so(
    tmp_path: Path,
) -> None:
    config = _two_providers(tmp_path, "anthropic:messages:claude-haiku-4-5")
    proc = evalbook("run", str(config), "--model", "mock:echo", "--json")
    assert (
        "--model mock:echo is none of the suite's models: it stands in for all of them,"
        " so the 2 case(s) the suite runs only with some of its models (test-1, test-2) run"
        " with it too" in " ".join(proc.stderr.split())
    )
    record = json.loads(proc.stdout)
    assert set(statuses(record["id"])) == {"test-1", "test-2", "test-3"}
