"""OpenAI evals registry entries imported and run against the local test server with the
accuracy the eval's own class would report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalbook.errors import SuiteError
from evalbook.importers import ImportOptions, detect_format, import_file
from evalbook.prompts.render import render_messages
from evalbook.suites import load_suite

from .helpers import FIXTURES, evalbook, run_json, statuses

REGISTRY = FIXTURES / "openai_evals" / "registry"
EVALS = REGISTRY / "evals"


def test_match_eval_imports_samples_few_shot_and_ideals() -> None:
    imported = import_file("openai-evals", EVALS / "capitals.yaml")
    assert imported.report.summary() == "1 of 1 assertions mapped"
    data = imported.data
    assert data["id"] == "capitals.dev.v0"  # the eval's id, from REGISTRY/data/
    assert data["description"] == "Capital cities, answered by the first word"
    assert data["scorers"] == [{"type": "starts-with", "strip": False}]
    cases = data["cases"]
    assert [c["id"] for c in cases][:2] == ["capitals.dev.v0.0", "capitals.dev.v0.1"]
    assert len(cases) == 10
    first = cases[0]["messages"]
    # two few-shot samples as user/assistant turns before the sample's last message
    assert [m["role"] for m in first] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert [m["content"] for m in first[1:5]] == [
        "Capital of Peru?",
        "Lima",
        "Capital of Chile?",
        "Santiago",
    ]
    assert cases[3]["expected"] == ["Madrid", "madrid"]  # a list: any of them
    assert cases[9]["messages"][-1] == {
        "role": "user",
        "content": "[[answer=Toronto]] Capital of Ontario?",  # a string input
    }


def test_jinja_in_a_sample_is_sent_as_written() -> None:
    suite = import_file("openai-evals", EVALS / "capitals.yaml").load()
    case = suite.cases[4]
    sent = render_messages(suite.prompt.get(None), case)[-1].content
    assert sent == "[[answer=Berlin]] Capital of Germany? Not {{ a template }}."


@pytest.mark.parametrize(
    ("name", "accuracy", "failing"),
    [
        # Match: the output starts with an ideal; "It is Ottawa" does not
        ("capitals", 0.8, {"capitals.dev.v0.7", "capitals.dev.v0.8"}),
        # Includes, ignore_case: "Blue" counts, "grey" is not "black"
        ("colours", 0.8, {"colours.dev.v0.3"}),
        # FuzzyMatch: either normalised text inside the other
        ("misc", 2 / 3, {"fuzzy.dev.v0.2"}),
        # JsonMatch: equal JSON whatever the key order
        ("json", 0.5, {"json.dev.v0.1"}),
    ],
)
def test_evals_run_against_the_test_server_with_their_accuracy(
    server: Any, name: str, accuracy: float, failing: set[str]
) -> None:
    model = f"openai-compatible:test-model@{server.base_url}"
    record = run_json(str(EVALS / f"{name}.yaml"), "--model", model)
    assert record["metrics"]["pass_rate"] == pytest.approx(accuracy)
    assert record["metrics"]["errored"] == 0
    got = statuses(record["id"])
    assert {c for c, s in got.items() if s == "failed"} == failing


def test_import_then_run_the_written_suite(tmp_path: Path, server: Any) -> None:
    out = tmp_path / "colours.yaml"
    proc = evalbook(
        "import", "openai-evals", str(EVALS / "colours.yaml"), "-o", str(out),
        "--model", f"openai-compatible:test-model@{server.base_url}",
    )  # fmt: skip
    assert "1 of 1 assertions mapped" in proc.stderr
    suite = load_suite(out)
    assert suite.cases[1].scorers[0].value == ["green", "verdant"]
    assert suite.cases[4].messages is not None
    assert [m.role for m in suite.cases[4].messages] == ["user", "assistant", "user"]
    record = run_json(str(out))
    assert record["metrics"]["pass_rate"] == pytest.approx(0.8)


def test_model_graded_and_custom_classes() -> None:
    graded = import_file(
        "openai-evals", EVALS / "graded.yaml", ImportOptions(base_url="http://127.0.0.1:9/v1")
    )
    spec = graded.data["scorers"][0]
    assert spec["type"] == "llm-judge" and spec["criteria"][0]["reference"] is True
    assert spec["judge"]["base_url"] == "http://127.0.0.1:9/v1"
    others = graded.report.unmapped
    assert [(n.feature, n.line) for n in others] == [("eval graded-battle", 8)]
    graded.load()
    custom = import_file("openai-evals", EVALS / "custom.yaml")
    assert custom.report.summary() == "0 of 1 assertions mapped"
    spec = custom.data["scorers"][0]
    assert spec["type"] == "unsupported" and spec["feature"] == "my_evals.scoring:CustomEval"
    assert spec["location"].endswith("custom.yaml:3")
    custom.load()


def test_detects_registry_files() -> None:
    assert detect_format(EVALS / "capitals.yaml") == "openai-evals"
    assert detect_format(FIXTURES / "promptfoo" / "echo" / "promptfooconfig.yaml") == "promptfoo"


@pytest.mark.parametrize(
    ("yaml_text", "jsonl", "where", "needle"),
    [
        ("x:\n  id: x.v0\n", None, ":2", "names spec 'x.v0'"),
        (
            "x:\n  id: x.v0\nx.v0:\n  class: evals.elsuite.basic.match:Match\n  args: {}\n",
            None, ":3", "samples_jsonl is missing",
        ),
        (
            "x:\n  id: x.v0\nx.v0:\n  class: evals.elsuite.basic.match:Match\n"
            "  args:\n    samples_jsonl: nope.jsonl\n",
            None, ":6", "samples file 'nope.jsonl' not found",
        ),
        (
            "x:\n  id: x.v0\nx.v0:\n  class: evals.elsuite.basic.match:Match\n"
            "  args:\n    samples_jsonl: s.jsonl\n",
            '{"input": "a", "ideal": "b"}\n{"ideal": "c"}\n', "s.jsonl:2", "needs 'input'",
        ),
        (
            "x:\n  id: x.v0\nx.v0:\n  class: evals.elsuite.basic.match:Match\n"
            "  args:\n    samples_jsonl: s.jsonl\n",
            '{"input": "a", "ideal": "b"}\n{"input": [{"role": "user", "content": "a"}\n',
            "s.jsonl:2", "invalid JSON",
        ),
    ],
)  # fmt: skip
def test_bad_registry_entries_name_file_and_line(
    tmp_path: Path, yaml_text: str, jsonl: str | None, where: str, needle: str
) -> None:
    evals = tmp_path / "registry" / "evals"
    data = tmp_path / "registry" / "data"
    evals.mkdir(parents=True)
    data.mkdir()
    path = evals / "x.yaml"
    path.write_text(yaml_text)
    if jsonl is not None:
        (data / "s.jsonl").write_text(jsonl)
    with pytest.raises(SuiteError) as info:
        import_file("openai-evals", path)
    message = str(info.value)
    expected = f"{path}{where}" if where.startswith(":") else f"{data / where}"
    assert expected in message and needle in message


def test_closedqa_with_its_criterion_as_one_string_is_a_judge_rubric() -> None:
    imported = import_file("openai-evals", EVALS / "titles.yaml")
    assert imported.data["scorers"] == [
        {
            "type": "llm-judge",
            "judge": "openai:gpt-4.1-mini",
            "criteria": [
                {
                    "name": "conciseness",
                    "description": "Does the title properly describe the provided content?",
                    "scale": [0, 1],
                }
            ],
        }
    ]
    imported.load()
    # without a criterion there is nothing to grade by: kept as a check that errors
    bare = import_file("openai-evals", EVALS / "titles_bare.yaml")
    (note,) = bare.report.unmapped
    assert note.line == 5
    assert (
        note.message == "closedqa without modelgraded_spec_args.criteria: no criterion to grade by"
    )
    assert bare.data["scorers"][0]["type"] == "unsupported"
