"""promptfoo's test ``threshold`` (and an ``assert-set`` with one): the test's assertions
judged as one ``assert-set`` scorer, passing on the weighted mean of their scores, run
offline with echo for the pass counts promptfoo gives."""

from __future__ import annotations

from pathlib import Path

from evalbook.importers import import_file

from .helpers import FIXTURES, run_json, statuses

THRESHOLD = FIXTURES / "promptfoo" / "threshold" / "promptfooconfig.yaml"


def test_a_thresholded_test_is_one_assert_set_with_the_default_assertions_first() -> None:
    imported = import_file("promptfoo", THRESHOLD)
    assert imported.report.summary() == "13 of 13 assertions mapped"
    data = imported.data
    # defaultTest's assertion is weighed inside each thresholded test's set, so it leaves
    # the suite's scorers and is the own scorer of the test without a threshold
    assert "scorers" not in data
    cases = {c["id"]: c for c in data["cases"]}
    default = {"type": "icontains", "value": "answer"}
    assert cases["test-1"]["scorers"] == [
        {
            "type": "assert-set",
            "threshold": 0.6,
            "value": [
                default,
                {"type": "contains", "value": "Paris", "weight": 2.0},
                {"type": "contains", "value": "Berlin"},
            ],
        }
    ]
    (whole,) = cases["test-4"]["scorers"]
    assert whole["value"][1] == {
        "type": "assert-set",
        "threshold": 0.3,
        "value": [
            {"type": "contains", "value": "Oslo"},
            {"type": "contains", "value": "Bergen"},
            {"type": "contains", "value": "Tromso"},
        ],
    }
    assert cases["test-5"]["scorers"] == [
        default,
        {"type": "contains", "value": "Bern"},
        {"type": "contains", "value": "Zurich"},
    ]
    assert imported.load().cases[0].scorers[0].type == "assert-set"


def test_runs_with_promptfoo_pass_counts() -> None:
    record = run_json(str(THRESHOLD), "--no-cache")
    assert statuses(record["id"]) == {
        "test-1": "passed",  # 0.75 >= 0.6, Berlin missing
        "test-2": "failed",  # 0.25 < 0.8
        "test-3": "passed",  # the failing not-contains weighs 0
        "test-4": "passed",  # the set counts once: 0.78 >= 0.75
        "test-5": "failed",  # no threshold: Zurich is missing
        "test-6": "passed",  # threshold 0
    }


def test_a_csv_threshold_column_and_a_default_threshold(tmp_path: Path) -> None:
    (tmp_path / "tests.csv").write_text(
        "city,__expected1,__expected2,__threshold\n"
        "Paris,contains: Paris,contains: Rome,0.5\n"
        "Lyon,contains: Paris,contains: Rome,\n"
    )
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text("prompts: ['About {{city}}']\nproviders: [echo]\ntests: file://tests.csv\n")
    cases = import_file("promptfoo", config).data["cases"]
    assert cases[0]["scorers"][0]["type"] == "assert-set"
    assert cases[0]["scorers"][0]["threshold"] == 0.5
    assert [s["type"] for s in cases[1]["scorers"]] == ["contains", "contains"]
    record = run_json(str(config), "--no-cache")
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "failed"}
    # defaultTest's threshold is every test's unless it has its own
    config.write_text(config.read_text() + "defaultTest:\n  threshold: 0.4\n")
    cases = import_file("promptfoo", config).data["cases"]
    assert [c["scorers"][0]["threshold"] for c in cases] == [0.5, 0.4]
    record = run_json(str(config), "--no-cache")
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "failed"}


def test_a_weight_of_zero_is_a_metric_that_cannot_fail(tmp_path: Path) -> None:
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text(
        "prompts: ['About {{city}}']\nproviders: [echo]\ntests:\n"
        "  - vars: {city: Paris}\n    assert:\n"
        "      - {type: contains, value: Paris}\n"
        "      - {type: contains, value: Rome, weight: 0, metric: rome}\n"
        "  - vars: {city: Rome}\n    assert:\n"
        "      - {type: contains, value: Paris}\n"
        "      - {type: contains, value: Rome, weight: 0, metric: rome}\n"
        "derivedMetrics:\n  - {name: rome_share, value: rome / __count}\n"
    )
    first = import_file("promptfoo", config).data["cases"][0]
    assert first["scorers"][1] == {
        "type": "assert-set",
        "threshold": 0.0,
        "weight": 0.0,
        "value": [{"type": "contains", "value": "Rome", "name": "rome"}],
    }
    record = run_json(str(config), "--no-cache")
    # the Rome check fails the first test in no way (promptfoo forces its pass); the
    # second fails on Paris alone; the metric still counts each score
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "failed"}
    assert record["metrics"]["derived"] == {"rome_share": 0.5}
