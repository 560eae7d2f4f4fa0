"""lm-evaluation-harness tasks with local data, imported and run against the test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalbook.errors import SuiteError
from evalbook.importers import ImportOptions, detect_format, import_file
from evalbook.prompts.render import render_messages

from .helpers import FIXTURES, run_json, statuses

LM_EVAL = FIXTURES / "lm_eval"


def test_generation_task_maps_prompt_fewshot_filters_and_metric() -> None:
    imported = import_file("lm-eval", LM_EVAL / "arith.yaml", ImportOptions(model="mock:echo"))
    assert imported.report.summary() == "1 of 1 assertions mapped"
    data = imported.data
    assert data["model"] == {"spec": "mock:echo", "stop": ["\n\n"], "max_tokens": 32}
    assert data["scorers"] == [
        {
            "type": "equals",
            "strip": False,
            "case_sensitive": False,
            "extract": [{"regex": r"#### (\-?[0-9]+)"}],
            "name": "exact_match-strict-match",
        }
    ]
    suite = imported.load()
    sent = render_messages(suite.prompt.get(None), suite.cases[0])[-1].content
    # one few-shot example (doc_to_text + target_delimiter + target + fewshot_delimiter)
    assert sent == (
        "Question: What is 1+1?\nAnswer: 2\n\n"
        "Question: [[answer=The sum is #### 4]] What is 2+2?\nAnswer:"
    )
    assert [c.expected for c in suite.cases] == ["4", "10", "-3", "7", "9"]


def test_generation_task_runs_against_the_test_server(tmp_path: Path, server: Any) -> None:
    model = f"openai-compatible:test-model@{server.base_url}"
    out = tmp_path / "arith.yaml"
    out.write_text(
        import_file("lm-eval", LM_EVAL / "arith.yaml", ImportOptions(model=model)).to_yaml()
    )
    record = run_json(str(out))
    assert statuses(record["id"]) == {
        "arith_local-0": "passed",
        "arith_local-1": "passed",
        "arith_local-2": "passed",
        "arith_local-3": "failed",  # 8 is not 7
        "arith_local-4": "failed",  # no "#### N": the regex filter finds nothing
    }


def test_multiple_choice_task_is_scored_generatively(server: Any) -> None:
    imported = import_file("lm-eval", LM_EVAL / "planets.yaml")
    assert imported.report.summary() == "2 of 2 assertions mapped"
    cases = imported.data["cases"]
    assert [c["expected"] for c in cases] == ["B", "A", "B"]
    assert cases[0]["choices"] == ["Mars", "Jupiter", "Venus"]
    suite = imported.load()
    sent = render_messages(suite.prompt.get(None), suite.cases[0])[-1].content
    assert sent == (
        "Astronomy questions.\n\n[[answer=B]] Which planet is the largest?\n"
        "A. Mars\nB. Jupiter\nC. Venus\nAnswer with the letter."
    )
    assert detect_format(LM_EVAL / "planets.yaml") == "lm-eval"
    model = f"openai-compatible:test-model@{server.base_url}"
    record = run_json(str(LM_EVAL / "planets.yaml"), "--model", model)
    assert statuses(record["id"]) == {
        "planets_mc-0": "passed",
        "planets_mc-1": "passed",
        "planets_mc-2": "failed",
    }


@pytest.mark.parametrize(
    ("task", "where", "needle"),
    [
        ("task: t\ndataset_path: cais/mmlu\n", ":2", "only local data"),
        (
            "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: nope.jsonl\n",
            ":3", "data file 'nope.jsonl' not found",  # at dataset_kwargs
        ),
        (
            "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: d.jsonl\n"
            "doc_to_text: !function utils.doc_to_text\n",
            ":5", "is Python code",
        ),
        (
            "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: d.jsonl\n"
            "output_type: loglikelihood_rolling\n",
            ":5", "output_type 'loglikelihood_rolling' is not imported",
        ),
    ],
)  # fmt: skip
def test_bad_tasks_name_file_and_line(tmp_path: Path, task: str, where: str, needle: str) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "x"}\n')
    path = tmp_path / "task.yaml"
    path.write_text(task)
    with pytest.raises(SuiteError) as info:
        import_file("lm-eval", path)
    assert f"{path}{where}" in str(info.value) and needle in str(info.value)
    assert detect_format(path) == "lm-eval"  # `evalbook run task.yaml` says the same


def test_a_document_missing_a_field_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"q": "x", "a": "1"}\n{"q": "y"}\n')
    path = tmp_path / "task.yaml"
    path.write_text(
        "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: d.jsonl\n"
        "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n"
    )
    with pytest.raises(SuiteError, match="doc_to_target") as info:
        import_file("lm-eval", path)
    assert f"{tmp_path / 'd.jsonl'}:2" in str(info.value)


def test_include_fills_in_the_templates_keys_and_the_tasks_own_win(tmp_path: Path) -> None:
    imported = import_file("lm-eval", LM_EVAL / "yesno.yaml", ImportOptions(model="mock:echo"))
    notes = {(n.feature, n.line): (n.mapped, n.message) for n in imported.report.notes}
    assert notes[("include", 2)] == (True, "_default_template_yaml read")
    cases = imported.data["cases"]
    # the template's csv data, output_type and doc_to_choice; the task's own doc_to_text
    assert [(c["vars"]["question"], c["choices"], c["expected"]) for c in cases] == [
        ("Is water wet?", ["yes", "no"], "A"),
        ("Is fire cold?", ["yes", "no"], "B"),
    ]
    assert imported.data["prompt"].startswith("Question: {{question}}\nAnswer:")
    imported.load()
    (tmp_path / "a.yaml").write_text("include: b.yaml\ntask: a\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\ndoc_to_text: q\n")
    with pytest.raises(SuiteError, match="includes itself"):
        import_file("lm-eval", tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("task: c\ninclude: nowhere.yaml\n")
    with pytest.raises(SuiteError, match=r"'nowhere\.yaml': no such file") as err:
        import_file("lm-eval", tmp_path / "c.yaml")
    assert err.value.location == f"{tmp_path / 'c.yaml'}:2"


def test_errors_and_notes_inside_an_included_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"q": "x", "a": "1"}\n')
    base = tmp_path / "_base_yaml"
    base.write_text(
        "# shared settings\n"
        "dataset_path: json\n"
        "dataset_kwargs:\n  data_files: {test: d.jsonl}\n"
        "output_type: generate_until\n"
        "metric_list:\n  - metric: bleu\n"
        "filter_list:\n  - name: vote\n    filter:\n      - function: majority_vote\n"
        "generation_kwargs: {until: ['\\n']}\n"
        "group: shared\n"
    )
    task = tmp_path / "task.yaml"
    task.write_text("task: t\ninclude: _base_yaml\ndoc_to_text: '{{q}}'\n")
    report = import_file("lm-eval", task).report
    notes = {n.feature: (n.file, n.line) for n in report.notes}
    assert notes["include"] == (str(task), 2)
    assert notes["metric bleu"] == (str(base), 7)
    assert notes["group"] == (str(base), 13)
    assert notes["generation_kwargs"] == (str(base), 12)
    # an error in the included file names it and its line
    base.write_text(base.read_text().replace("output_type: generate_until", "output_type: x"))
    with pytest.raises(SuiteError, match="output_type 'x'") as info:
        import_file("lm-eval", task)
    assert info.value.location == f"{base}:5"
    base.write_text(base.read_text().replace("test: d.jsonl", "dev: d.jsonl"))
    with pytest.raises(SuiteError, match="no split 'test'") as info:
        import_file("lm-eval", task)
    assert info.value.location == f"{base}:3"
    # a nested include: the key's own file, and the task's own keys stay the task's
    (tmp_path / "_outer_yaml").write_text("include: _base_yaml\ndoc_to_target: '{{a}}'\n")
    task.write_text("task: t\ninclude: _outer_yaml\ndoc_to_text: '{{q}}'\n")
    with pytest.raises(SuiteError, match="no split 'test'") as info:
        import_file("lm-eval", task)
    assert info.value.location == f"{base}:3"
    task.write_text("task: t\ninclude: _outer_yaml\ndoc_to_text: '{{q}}'\noutput_type: y\n")
    with pytest.raises(SuiteError, match="output_type 'y'") as info:
        import_file("lm-eval", _fixed(base, task))
    assert info.value.location == f"{task}:4"
    task.write_text("task: t\ninclude: _outer_yaml\ndoc_to_text: '{{q}}'\n")
    includes = [
        (n.file, n.line, n.message)
        for n in import_file("lm-eval", _fixed(base, task)).report.notes
        if n.feature == "include"
    ]
    assert includes == [
        (str(task), 2, "_outer_yaml read"),
        (str(tmp_path / "_outer_yaml"), 1, "_base_yaml read"),
    ]


def _fixed(base: Path, task: Path) -> Path:
    base.write_text(base.read_text().replace("dev: d.jsonl", "test: d.jsonl"))
    base.write_text(base.read_text().replace("output_type: x", "output_type: generate_until"))
    return task
