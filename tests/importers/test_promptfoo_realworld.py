"""promptfoo configs written the way real ones are (from promptfoo's documented format,
not tuned to the importer): prompts as a file → label map, providers from a file, tests
from globs and lists of globs, list vars, scenarios, Nunjucks filters, env/outputPath/
sharing/evaluateOptions blocks, per-test provider and prompt filters, named and derived
metrics, inline javascript, a test threshold, unknown keys. Each imports with the mapped
share it reports, and runs (echo offline, OpenAI ones against the local test server) with
the verdicts promptfoo's semantics give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalbook.errors import SuiteError
from evalbook.importers import ImportOptions, import_file
from evalbook.suites.loader import load_suite_from_text

from .helpers import FIXTURES, run_json, statuses

REAL = FIXTURES / "promptfoo" / "realworld"


def _config(name: str) -> Path:
    return REAL / name / "promptfooconfig.yaml"


@pytest.mark.parametrize(
    ("name", "summary", "cases"),
    [
        ("prompt_map", "4 of 4 assertions mapped", 3),
        ("globs_lists", "7 of 7 assertions mapped", 9),
        ("scenarios", "10 of 10 assertions mapped", 8),
        ("nunjucks", "5 of 5 assertions mapped; 2 other constructs not mapped", 2),
        ("metrics", "6 of 7 assertions mapped; 2 other constructs not mapped", 4),
        ("openai_server", "4 of 4 assertions mapped", 3),
        # the test that runs with no imported provider is left out with its assertion
        ("test_filters", "4 of 4 assertions mapped", 4),
        ("odd_fields", "4 of 4 assertions mapped; 8 other constructs not mapped", 2),
    ],
)
def test_each_imports_with_its_mapped_share(name: str, summary: str, cases: int) -> None:
    imported = import_file("promptfoo", _config(name))
    assert imported.report.summary() == summary
    suite = imported.load()
    assert len(suite.cases) == cases


def _notes(name: str) -> dict[tuple[str, int | None], tuple[bool, str]]:
    report = import_file("promptfoo", _config(name)).report
    return {(n.feature, n.line): (n.mapped, n.message) for n in report.notes}


def test_blocks_promptfoo_needs_and_evalbook_does_not_are_noted_with_lines() -> None:
    notes = _notes("prompt_map")
    for key, line in [("env", 13), ("outputPath", 18), ("sharing", 19)]:
        mapped, message = notes[(key, line)]
        assert mapped and "not needed" in message
    assert _notes("globs_lists")[("evaluateOptions", 12)][0] is True


def _run_statuses(record: dict[str, Any]) -> dict[str, dict[str, str]]:
    runs = record.get("runs") or [record]
    return {r.get("label") or "": statuses(r["id"]) for r in runs}


def test_prompt_map_providers_file_and_test_glob_run() -> None:
    imported = import_file("promptfoo", _config("prompt_map"))
    assert imported.data["models"] == [{"label": "echo-bot", "provider": "mock", "name": "echo"}]
    assert "  1: Short greeting" in imported.header and "  2: Formal greeting" in imported.header
    got = _run_statuses(run_json(str(_config("prompt_map")), "--no-cache"))
    # "Hi Grace!" has no place in it; the formal one does not start with "Hi"
    assert got == {
        "echo-bot · v1": {"test-1": "passed", "test-2": "failed", "test-3": "passed"},
        "echo-bot · v2": {"test-1": "passed", "test-2": "passed", "test-3": "failed"},
    }


def test_globs_csv_and_list_vars_run() -> None:
    cases = import_file("promptfoo", _config("globs_lists")).data["cases"]
    # defaultTest vars under the test's own; one test per combination of the list vars
    assert cases[0]["vars"]["tone"] == "neutral" and cases[1]["vars"]["tone"] == "formal"
    assert [(c["vars"]["phrase"], c["vars"]["language"]) for c in cases[5:]] == [
        ("good morning", "French"),
        ("good morning", "German"),
        ("good night", "French"),
        ("good night", "German"),
    ]
    got = statuses(run_json(str(_config("globs_lists")), "--no-cache")["id"])
    failed = {c for c, s in got.items() if s == "failed"}
    assert len(got) == 9 and failed == {"test-5", "test-7", "test-9"}


def test_scenarios_expand_config_times_tests() -> None:
    cases = import_file("promptfoo", _config("scenarios")).data["cases"]
    assert [c["vars"]["language"] for c in cases] == [
        "Latin", "Spanish", "Spanish", "French", "French", "German", "Dutch", "Danish"
    ]  # fmt: skip
    # the config entry's assertions come before the test's
    assert [s["value"] for s in cases[3]["scorers"]] == ["French", "{{hello}}"]
    got = statuses(run_json(str(_config("scenarios")), "--no-cache")["id"])
    # French: the expected text is the Spanish one, so its own assertion fails
    assert {c for c, s in got.items() if s != "passed"} == {"test-4", "test-5"}
    assert set(got.values()) <= {"passed", "failed"}


def test_nunjucks_filters_map_and_custom_ones_are_reported() -> None:
    imported = import_file("promptfoo", _config("nunjucks"))
    notes = {(n.feature, n.line): n for n in imported.report.unmapped}
    assert "shout.js: no such file" in notes[("nunjucksFilters.shout", 8)].message
    assert "'shout'" in notes[("prompt custom filter", 14)].message
    assert imported.data["prompt_versions"] == [1, 2]  # the custom-filter prompt left out
    # the one-line javascript `output.length < 200` is a length bound
    # a test without `mood` renders the template's default, as in promptfoo
    assert imported.data["cases"][1]["vars"]["mood"] == "calm"
    assert imported.data["cases"][1]["scorers"][2] == {
        "type": "length", "unit": "chars", "max": 199, "extract": ["strip"]
    }  # fmt: skip
    got = _run_statuses(run_json(str(_config("nunjucks")), "--no-cache"))
    # "HELLO, Ada! Topics: weather, news. Note: fine"; v2 is "Countess Ada on …"
    assert got["shouter · v1"] == {"test-1": "passed", "test-2": "passed"}
    assert got["shouter · v2"] == {"test-1": "failed", "test-2": "failed"}


def test_named_and_derived_metrics() -> None:
    imported = import_file("promptfoo", _config("metrics"))
    assert imported.data["derived_metrics"] == [
        {"name": "f1", "expression": "2 * precision * recall / (precision + recall)"},
        {"name": "mean_precision", "expression": "precision / __count"},
    ]
    notes = {(n.feature, n.line): n for n in imported.report.unmapped}
    assert "JavaScript function" in notes[("derivedMetrics custom", 60)].message
    assert "unknown promptfoo field" in notes[("reviewers", 65)].message
    assert ("threshold", 38) not in notes  # mapped: an assert-set scorer
    cases = {c["id"]: c for c in imported.data["cases"]}
    assert cases["test-1"]["metadata"] == {
        "suite": "sentiment", "source": "reviews", "description": "positive and right"
    }  # fmt: skip
    record = run_json(str(_config("metrics")), "--no-cache")
    assert statuses(record["id"]) == {
        "test-1": "passed",
        "test-2": "failed",
        "test-3": "passed",  # neutral, not positive: 0.5 reaches its threshold
        "test-4": "error",  # inline javascript is kept to port, never passes
    }
    # sums as promptfoo keeps them: precision 3, recall 1, over 4 results
    assert record["metrics"]["derived"] == {"f1": pytest.approx(1.5), "mean_precision": 0.75}


def test_per_test_filters_run_only_their_combinations() -> None:
    imported = import_file("promptfoo", _config("test_filters"))
    assert imported.data["case_filters"] == {
        "test-1": {"models": ["loud"]},
        "test-2": {"prompt_versions": [1]},
    }
    written = load_suite_from_text(imported.to_yaml(), source="suite.yaml")  # round-trips
    assert written.case_filters == imported.load().case_filters
    assert [m.name for m in written.derived_metrics] == ["hit_rate"]
    left_out = [n for n in imported.report.notes if "runs with none" in n.message]
    assert [(n.line, n.mapped) for n in left_out] == [(33, True)]
    record = run_json(str(_config("test_filters")), "--no-cache")
    got = _run_statuses(record)
    assert got == {
        "loud · v1": dict.fromkeys(["test-1", "test-2", "test-3", "test-5"], "passed"),
        "loud · v2": dict.fromkeys(["test-1", "test-3", "test-5"], "passed"),
        "quiet · v1": dict.fromkeys(["test-2", "test-3", "test-5"], "passed"),
        "quiet · v2": dict.fromkeys(["test-3", "test-5"], "passed"),
    }
    derived = {r["label"]: r["metrics"]["derived"]["hit_rate"] for r in record["runs"]}
    assert derived == pytest.approx(
        {"loud · v1": 2 / 4, "loud · v2": 2 / 3, "quiet · v1": 1 / 3, "quiet · v2": 1 / 2}
    )


def test_openai_providers_run_against_the_test_server(server: Any) -> None:
    imported = import_file(
        "promptfoo", _config("openai_server"), ImportOptions(base_url=server.base_url)
    )
    mini, big = imported.data["models"]
    assert (mini["label"], mini["name"], mini["temperature"], mini["max_tokens"]) == (
        "mini", "gpt-4o-mini", 0, 16
    )  # fmt: skip
    assert big["provider"] == "openai-compatible" and big["base_url"] == server.base_url
    record = run_json(str(_config("openai_server")), "--base-url", server.base_url)
    got = _run_statuses(record)
    expected = {"test-1": "passed", "test-2": "passed", "test-3": "failed"}
    assert got == {"mini · v1": expected, "big · v1": expected}


def test_odd_fields_are_reported_with_lines_and_what_maps_runs() -> None:
    notes = {
        (n.feature, n.line) for n in import_file("promptfoo", _config("odd_fields")).report.unmapped
    }
    assert notes >= {
        ("prompt reply: config", 9),
        ("provider echo: transform", 18),
        ("provider file://custom_provider.py", 19),
        ("provider http", 21),
        ("defaultTest.options.prefix", 28),
        ("extensions", 33),
        ("redteam", 35),
        ("someFutureOption", 37),
    }
    imported = import_file("promptfoo", _config("odd_fields"))
    # defaultTest's threshold applies to every test: each case's assertions, defaultTest's
    # first, are one set passing at 0.5; the suite keeps no scorers of its own
    assert "scorers" not in imported.data
    for case in imported.data["cases"]:
        (whole,) = case["scorers"]
        assert whole["type"] == "assert-set" and whole["threshold"] == 0.5
        assert whole["value"][0] == {"type": "not-icontains", "value": "as an ai"}
    got = statuses(run_json(str(_config("odd_fields")), "--no-cache")["id"])
    assert got == {"test-1": "passed", "test-2": "passed"}  # `output.length > 3`: a length


def test_a_test_generator_config_is_read_as_its_file(tmp_path: Path) -> None:
    (tmp_path / "gen.py").write_text("def create_tests():\n    return []\n")
    (tmp_path / "more.yaml").write_text("- vars: {name: b}\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Hi {{name}}']\nproviders: [echo]\ntests:\n"
        "  - path: file://more.yaml\n"
        "  - path: file://gen.py:create_tests\n    config: {n: 3}\n"
    )
    with pytest.raises(SuiteError) as caught:
        import_file("promptfoo", path)
    assert f"{path}:5" in str(caught.value) and "generates tests in code" in str(caught.value)
    path.write_text(path.read_text().rsplit("  - path: file://gen.py", 1)[0])
    assert import_file("promptfoo", path).data["cases"] == [{"id": "test-1", "vars": {"name": "b"}}]
