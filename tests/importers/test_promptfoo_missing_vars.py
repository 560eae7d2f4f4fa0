"""A variable a promptfoo test does not give renders empty there, attributes of it too
(``{{ x.name }}``; false in ``{% if %}``): an imported config renders the same text,
while a native suite still stops on the missing variable. An attribute used any other
way (``join``, which nunjucks cannot do on nothing either) still errors the case."""

from __future__ import annotations

from pathlib import Path

from evalbook.importers import import_file

from .helpers import run_json, statuses


def test_missing_attributes_render_empty_as_promptfoo_renders_them(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts:\n"
        "  - \"Dear {{ reader.name }}{% if reader['title'] %} ({{ reader['title'] }}){% endif %}."
        ' Shelf: {{ shelf.top.label }}|"\n'
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {reader: {name: Ada, title: Dr}, shelf: {top: {label: A1}}}\n"
        "    assert: [{type: equals, value: 'Dear Ada (Dr). Shelf: A1|'}]\n"
        "  - vars: {}\n"
        "    assert: [{type: equals, value: 'Dear . Shelf: |'}]\n"
    )
    imported = import_file("promptfoo", path)
    second = imported.data["cases"][1]
    assert second["vars"] == {"reader": {"name": "", "title": ""}, "shelf": {"top": {"label": ""}}}
    notes = {n.feature: n.message for n in imported.report.notes}
    assert "set to {'name': '', 'title': ''} there" in notes["var reader"]
    record = run_json(str(path), "--no-cache")
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "passed"}


def test_an_attribute_used_otherwise_still_errors_and_native_suites_stay_strict(
    tmp_path: Path,
) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Likes {{ reader.topics | join(\", \") }}']\n"
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {reader: {topics: [maps]}}\n"
        "  - vars: {}\n"
    )
    assert statuses(run_json(str(path), "--no-cache")["id"]) == {
        "test-1": "passed",
        "test-2": "error",
    }
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "id: native\n"
        "model: mock:echo\n"
        "prompt: 'Dear {{ reader.name }}'\n"
        "cases:\n"
        "  - {id: given, vars: {reader: {name: Ada}}}\n"
        "  - {id: missing, vars: {}}\n"
    )
    assert statuses(run_json(str(suite), "--no-cache")["id"]) == {
        "given": "passed",
        "missing": "error",
    }
