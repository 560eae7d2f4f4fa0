"""promptfoo assertion values are templates rendered with each test's vars: the import
keeps them as templates that evalbook renders per case, so each case compares its own
values; run offline with echo for promptfoo's verdicts."""

from __future__ import annotations

from pathlib import Path

from evalbook.importers import import_file

from .helpers import FIXTURES, evalbook, run_json, statuses

CONFIG = FIXTURES / "promptfoo" / "value_templates" / "promptfooconfig.yaml"


def test_values_stay_templates_and_vars_dot_is_noted() -> None:
    imported = import_file("promptfoo", CONFIG)
    report = imported.report
    assert report.summary() == "15 of 15 assertions mapped; 1 other construct not mapped"
    (note,) = report.unmapped
    assert (note.feature, note.line) == ("contains value", 53)
    assert "{{ vars.city }} is empty text there" in note.message
    cases = {c["id"]: c for c in imported.data["cases"]}
    # defaultTest's check is each case's own (test-3's threshold weighs it in its set)
    assert "scorers" not in imported.data
    assert cases["test-2"]["scorers"][0] == {"type": "icontains", "value": "{{ city }}"}
    assert cases["test-1"]["scorers"][2] == {
        "type": "contains",
        "value": ["{{ city | upper }}", "{{ country }}"],
        "mode": "any",
    }
    # CSV __expected cells are templates too
    assert cases["test-6"]["scorers"][1:] == [
        {"type": "starts-with", "value": "Capital of {{country}}", "strip": False},
        {"type": "contains", "value": "{{country}}!"},
    ]


def test_each_case_compares_its_own_rendered_values(tmp_path: Path) -> None:
    record = run_json(str(CONFIG), "--no-cache")
    assert statuses(record["id"]) == {
        "test-1": "passed",  # equals, contains-any/-all, regex, not-, starts-with rendered
        "test-2": "failed",  # "Lyon, France" is not in the output
        "test-3": "passed",  # the threshold's set renders its values: 2 of 3
        "test-4": "error",  # {{ vars.city }}: promptfoo's contains errors on its empty text
        "test-5": "passed",  # CSV cells, a filter: {{ country | lower }}
        "test-6": "failed",  # "Norway!" is not in the output
    }
    # the written suite runs the same
    out = tmp_path / "suite.yaml"
    evalbook("import", "promptfoo", str(CONFIG), "-o", str(out), check=0)
    again = run_json(str(out), "--no-cache")
    assert statuses(again["id"]) == statuses(record["id"])
