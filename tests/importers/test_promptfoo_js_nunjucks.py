"""promptfoo templates and one-line javascript assertions, run offline with echo for
promptfoo's verdicts: nunjucks' built-in filters render as nunjucks renders them
(``dump`` included, which Jinja lacks), ``||``/``&&`` chains of ``includes`` read as
``contains-any``/``-all``, ``/re/.test(output)`` as ``regex``; a returned object or a
mix of calls stays code that errors, never a silent pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalbook.core.templating import render_string
from evalbook.errors import TemplateError
from evalbook.importers import import_file

from .helpers import run_json, statuses

VARS = {
    "obj": {"name": "Zoë", "score": 2.0, "tags": ["a", "b"]},
    "words": ["red", "green", "blue"],
    "text": "  Tom & <Jerry>  ",
}


@pytest.mark.parametrize(
    ("template", "nunjucks"),
    [
        # what nunjucks 3 renders for each (autoescape off, as promptfoo configures it)
        ("{{ obj | dump }}", '{"name":"Zoë","score":2,"tags":["a","b"]}'),
        ("{{ words | dump(2) }}", '[\n  "red",\n  "green",\n  "blue"\n]'),
        ("{{ obj.tags | dump(40) }}", '[\n          "a",\n          "b"\n]'),
        ("{{ text | dump }}", '"  Tom & <Jerry>  "'),
        ("{{ text | upper }}", "  TOM & <JERRY>  "),
        ("{{ text | lower }}", "  tom & <jerry>  "),
        ("{{ text | trim }}", "Tom & <Jerry>"),
        ("{{ words | join(', ') }}", "red, green, blue"),
        ("{{ words | length }}/{{ obj | length }}/{{ text | length }}", "3/3/17"),
        ("{{ missing | default('none') }}", "none"),
        ("{{ text | replace('Tom', 'Spike') }}", "  Spike & <Jerry>  "),
        ("{{ words | first }}-{{ words | last }}", "red-blue"),
        ("{{ text | safe }}", "  Tom & <Jerry>  "),
        ("{{ text | escape }}", "  Tom &amp; &lt;Jerry&gt;  "),
    ],
)
def test_nunjucks_builtin_filters_render_as_nunjucks(template: str, nunjucks: str) -> None:
    assert render_string(template, VARS, case_id="c") == nunjucks


def test_dump_of_a_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateError, match="'missing' is undefined"):
        render_string("{{ missing | dump }}", VARS, case_id="c")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts:\n"
        "  - 'Order {{ order | dump }} for {{ name | upper }}'\n"
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {order: {id: 7, items: [tea]}, name: ana}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: output.includes('tea') || output.includes('coffee')\n"
        "      - type: javascript\n"
        '        value: /"id":\\d+/.test(output)\n'
        "  - vars: {order: {id: 8, items: [cake]}, name: bo}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: output.includes('tea') || output.includes('coffee')\n"
        "  - vars: {order: {id: 9, items: [milk]}, name: cy}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: return output.toLowerCase().includes('cy') && output.includes('milk');\n"
        "      - type: javascript\n"
        "        value: '!/SORRY/i.test(output)'\n"
        "  - vars: {order: {id: 10, items: []}, name: di}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: \"return { pass: output.includes('DI'), score: 1, reason: 'ok' }\"\n"
    )
    return path


def test_javascript_chains_and_regex_tests_map_and_run_with_promptfoos_verdicts(
    tmp_path: Path,
) -> None:
    path = _config(tmp_path)
    imported = import_file("promptfoo", path)
    assert imported.report.summary() == "4 of 6 assertions mapped"
    first, _, third, fourth = imported.data["cases"]
    assert first["scorers"][0] == {"type": "contains", "value": ["tea", "coffee"], "mode": "any"}
    assert first["scorers"][1]["type"] == "regex"
    assert first["scorers"][1]["value"] == '"id":\\d+'
    # a mix of calls (lower-cased and not) is not one contains-all: it stays code
    assert third["scorers"][0]["type"] == "unsupported"
    assert third["scorers"][1]["type"] == "not-regex"
    assert third["scorers"][1]["value"] == "(?i)SORRY"
    assert fourth["scorers"][0]["type"] == "unsupported"
    (note,) = [n for n in imported.report.unmapped if n.line == 23]
    assert note.feature == "javascript"
    # echo answers 'Order {"id":7,"items":["tea"]} for ANA': promptfoo passes test 1, fails
    # test 2 (no tea, no coffee); 3 and 4 hold code evalbook does not run: errors
    record = run_json(str(path))
    assert statuses(record["id"]) == {
        "test-1": "passed",
        "test-2": "failed",
        "test-3": "error",
        "test-4": "error",
    }


def test_a_one_line_custom_filter_is_its_builtin_and_code_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "allcaps.js").write_text(
        "// upper-cases its input\n"
        "module.exports = function (str) {\n  return str.toUpperCase();\n};\n"
    )
    (tmp_path / "shout.js").write_text("module.exports = (s) => s + '!!!';\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "nunjucksFilters:\n"
        "  allcaps: ./allcaps.js\n"
        "  shout: ./shout.js\n"
        "prompts:\n"
        "  - 'Say {{ word | allcaps }}'\n"
        "  - 'Yell {{ word | shout }}'\n"
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {word: hi}\n"
        "    assert: [{type: equals, value: Say HI}]\n"
    )
    imported = import_file("promptfoo", path)
    assert imported.data["prompt"] == "Say {{ word | upper }}"
    notes = {(n.feature, n.line): (n.mapped, n.message) for n in imported.report.notes}
    assert notes[("nunjucksFilters.allcaps", 2)][0] is True
    assert notes[("nunjucksFilters.shout", 3)][0] is False
    assert "code evalbook does not run" in notes[("nunjucksFilters.shout", 3)][1]
    assert notes[("prompt Yell {{ word | shout }}", 6)][0] is False
    assert statuses(run_json(str(path), "--no-cache")["id"]) == {"test-1": "passed"}
