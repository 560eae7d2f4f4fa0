"""promptfoo configs imported as suites, loaded by our loader and run for real: the echo
fixture offline, the file-based fixture against the local OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evalbook.errors import SuiteError
from evalbook.importers import ImportOptions, detect_format, import_file
from evalbook.importers.promptfoo._asserts import KNOWN_TYPES, parse_csv_assertion
from evalbook.suites import load_suite

from .helpers import FIXTURES, evalbook, run_json, statuses

ECHO = FIXTURES / "promptfoo" / "echo" / "promptfooconfig.yaml"
FILES = FIXTURES / "promptfoo" / "files" / "promptfooconfig.yaml"
GRADERS = FIXTURES / "promptfoo" / "graders" / "promptfooconfig.yaml"


def _scorers(case: dict[str, Any]) -> list[dict[str, Any]]:
    return list(case.get("scorers", []))


def test_echo_config_maps_every_construct_it_can() -> None:
    imported = import_file("promptfoo", ECHO)
    report = imported.report
    assert report.summary() == "20 of 23 assertions mapped"
    unmapped = {(n.feature, n.line) for n in report.unmapped}
    assert unmapped == {("javascript", 95), ("python", 97), ("select-best", 127)}
    data = imported.data
    assert data["model"] == {"provider": "mock", "name": "echo"}
    versions = data["prompt"]["versions"]
    assert versions == {
        1: "Say {{topic}} in {{language}}.",
        2: "Topic: {{topic}}\nLanguage: {{language}}",
    }
    assert data["scorers"] == [{"type": "not-contains", "value": "ERROR"}]  # defaultTest
    cases = {c["id"]: c for c in data["cases"]}
    assert len(cases) == 12  # the list var made two tests of one
    assert [cases["test-2"]["vars"]["topic"], cases["test-3"]["vars"]["topic"]] == ["dogs", "birds"]
    assert cases["test-1"]["vars"]["language"] == "English"  # defaultTest vars
    assert cases["test-4"]["vars"]["language"] == "French"  # the test's own var wins
    assert cases["test-10"]["vars"]["language"] == "Dutch"  # a file:// var is the file's text
    first = _scorers(cases["test-1"])
    assert first[0] == {"type": "contains", "value": "cats", "weight": 2.0, "name": "topic"}
    assert first[1] == {"type": "icontains", "value": "{{topic}}"}  # $ref resolved
    assert _scorers(cases["test-5"])[1] == {
        "type": "levenshtein",
        "value": "Topic: maths\nLanguage: Englsh",
        "max_distance": 2,
    }
    assert _scorers(cases["test-6"])[1]["extract"] == ["first-line"]  # the transform
    code = _scorers(cases["test-9"])
    assert [s["type"] for s in code] == ["unsupported", "unsupported"]
    assert code[0]["original"] == {"type": "javascript", "value": 'output.split(" ").length < 100'}
    assert "def get_assert(output, context):" in code[1]["original"]["source"]
    assert code[1]["location"].endswith("promptfooconfig.yaml:97")
    # assert-set without a threshold: its assertions one by one
    assert [s["value"] for s in _scorers(cases["test-10"])[2:]] == ["word", "Dutch"]


def test_written_suite_round_trips(tmp_path: Path) -> None:
    imported = import_file("promptfoo", ECHO)
    out = tmp_path / "suite.yaml"
    evalbook("import", "promptfoo", str(ECHO), "-o", str(out))
    text = out.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert f"# Imported from promptfoo by `evalbook import`: {ECHO}" in text
    assert "# 20 of 23 assertions mapped" in text
    assert f"{ECHO}:95: javascript: not mapped" in text
    assert "&id" not in text  # no YAML anchors: every value spelled out
    written = load_suite(out)
    assert written.hash == imported.load().hash
    assert yaml.safe_load(text) == yaml.safe_load(yaml.safe_dump(imported.data))


def test_echo_config_runs_offline_with_promptfoos_verdicts() -> None:
    """Run the foreign file as it is: 9 pass, the one written to fail fails, and the two
    tests with checks evalbook cannot make error (never pass)."""
    record = run_json(str(ECHO), "--no-cache", "--prompt-version", "2")
    metrics = record["metrics"]
    assert (metrics["scored"], metrics["errored"]) == (10, 2)
    got = statuses(record["id"])
    assert got.pop("test-8") == "failed"
    assert (got.pop("test-9"), got.pop("test-12")) == ("error", "error")
    assert set(got.values()) == {"passed"} and len(got) == 9
    messages = " ".join(e["message"] for e in metrics["errors"])
    assert "promptfoo 'javascript' at" in messages and "was not imported" in messages
    assert record["passed"] is False


def test_first_prompt_version_gives_its_own_verdicts() -> None:
    record = run_json(str(ECHO), "--no-cache", "--prompt-version", "1")
    got = statuses(record["id"])
    # "Say tea in French." neither starts with "Topic:" nor matches "Language: …";
    # "Say rain in English." still shares half its words with the ROUGE reference
    failed = {c for c, s in got.items() if s == "failed"}
    assert failed == {"test-4", "test-5", "test-6", "test-8", "test-10"}
    assert got["test-7"] == "passed"


def test_files_config_maps_files_csv_and_providers() -> None:
    imported = import_file("promptfoo", FILES)
    report = imported.report
    assert report.summary() == "12 of 12 assertions mapped; 2 other constructs not mapped"
    features = {n.feature for n in report.unmapped}
    assert features == {"provider exec:python run_model.py", "prompt function"}
    data = imported.data
    # an arithmetic derived metric is computed when a run ends
    assert data["derived_metrics"] == [{"name": "precision", "expression": "tp / (tp + fp)"}]
    mini, big, claude = data["models"]  # providers × prompts is the matrix run
    assert mini == {
        "label": "mini",
        "provider": "openai",
        "name": "gpt-4o-mini",
        "temperature": 0,
        "max_tokens": 64,
        "params": {"top_p": 1},
    }
    assert big == {"label": "openai:gpt-4o", "provider": "openai", "name": "gpt-4o"}
    assert claude["provider"] == "anthropic" and claude["max_tokens"] == 128
    assert data["prompt_versions"] == [1, 2, 3]
    assert "  openai:gpt-4o: openai:gpt-4o" in imported.header
    versions = data["prompt"]["versions"]
    assert versions[1] == "[[answer={{answer}}]] Question: {{question}}"
    assert versions[2] == "[[answer={{answer}}]] Q: {{question}}\nA:"
    assert versions[3] == {
        "system": "You answer with one word.",
        "messages": [{"role": "user", "content": "[[answer={{answer}}]] {{question}}"}],
    }
    cases = {c["id"]: c for c in data["cases"]}
    assert list(cases) == [f"test-{i}" for i in range(1, 8)]  # CSV, YAML glob, JSONL
    first = cases["test-1"]
    assert first["vars"] == {
        "region": "Europe",  # defaultTest from a file
        "question": "What is the capital of France?",
        "answer": "Paris",
    }
    assert first["metadata"] == {"topic": "geography", "description": "france"}
    assert _scorers(first) == [
        {"type": "equals", "value": "Paris", "strip": False},
        {"type": "levenshtein", "value": "Pariss", "max_distance": 1},  # __config threshold
    ]
    assert _scorers(cases["test-3"])[0] == {"type": "equals", "value": "Jupiter", "strip": False}
    assert _scorers(cases["test-4"]) == [
        {"type": "contains", "value": ["red", "green"], "mode": "any"},
        {"type": "contains", "value": ["RED"], "mode": "all", "case_sensitive": False},
    ]


def test_files_config_runs_against_the_test_server(server: Any) -> None:
    # the other providers need keys: --model runs only the chosen one
    record = run_json(
        str(FILES), "--base-url", server.base_url, "--model", "mini", "--prompt-version", "3"
    )
    assert record["label"] == "mini"
    assert record["model"]["provider"] == "openai-compatible"
    assert record["model"]["base_url"] == server.base_url
    got = statuses(record["id"])
    assert got == {
        "test-1": "passed",
        "test-2": "failed",  # answers 5, expects 4
        "test-3": "passed",
        "test-4": "passed",
        "test-5": "passed",
        "test-6": "passed",
        "test-7": "failed",  # answers Madrid, expects Barcelona
    }


def test_import_with_base_url_then_run_the_written_suite(tmp_path: Path, server: Any) -> None:
    out = tmp_path / "capitals.yaml"
    proc = evalbook(
        "import", "promptfoo", str(FILES), "-o", str(out), "--base-url", server.base_url
    )
    assert "12 of 12 assertions mapped; 2 other constructs not mapped" in proc.stderr
    assert f"{FILES}:38: derivedMetrics precision: note: computed" in proc.stderr
    record = run_json(str(out), "--prompt-version", "1", "--model", "mini")
    assert record["metrics"]["pass_rate"] == pytest.approx(5 / 7)
    # the written suite keeps the derived metric; no scorer is named tp or fp, so it is
    # 0 / 0 (promptfoo's missing metrics count 0): no value, never a made-up one
    assert record["metrics"]["derived"] == {"precision": None}


def test_graders_and_what_does_not_map() -> None:
    imported = import_file("promptfoo", GRADERS, ImportOptions(base_url="http://127.0.0.1:9/v1"))
    report = imported.report
    assert report.summary() == "14 of 18 assertions mapped; 1 other construct not mapped"
    lines = {n.feature: n.line for n in report.unmapped}
    assert lines["finish-reason"] == 51
    assert lines["is-valid-openai-tools-call"] == 53
    assert lines["webhook"] == 54
    assert "threshold" not in lines  # the test's threshold maps (an assert-set scorer)
    assert lines["options.prefix"] == 67
    # the filter keeps the one (OpenAI) provider: nothing to restrict
    mapped = {n.feature: n.line for n in report.notes if n.mapped}
    assert mapped["tests.providers/prompts"] == 64
    assert "case_filters" not in imported.data
    data = imported.data
    # the source's own gateway is kept; --base-url points OpenAI-style models elsewhere
    assert data["model"]["provider"] == "openai-compatible"
    assert data["model"]["base_url"] == "http://127.0.0.1:9/v1"
    assert "api_key_env" not in data["model"]
    assert data["model"]["params"] == {"response_format": {"type": "json_object"}}
    first, second, scenario = data["cases"]  # the scenario's test comes after the tests
    assert scenario["vars"] == {"tone": "formal", "message": "hi"}
    first, second = _scorers(first), _scorers(second)
    judge = {"provider": "anthropic", "name": "claude-3-5-sonnet-20241022"}  # defaultTest grader
    assert first[0] == {
        "type": "llm-judge",
        "judge": judge,
        "criteria": [
            {"name": "rubric", "description": "Apologises and gives a next step", "scale": [0, 1]}
        ],
        "threshold": 0.8,
    }
    assert first[1] == {
        "type": "llm-judge",
        "value": "Mentions the order: {{message}}",
        "judge": judge,
    }
    assert first[2]["criteria"][0]["name"] == "closedqa"
    assert first[3]["value"] == "{{reference}}" and first[3]["criteria"][0]["reference"] is True
    assert first[4] == {
        "type": "embedding-similarity",
        "value": "Sorry for the delay, your order ships soon.",
        "threshold": 0.7,
    }
    assert first[5] == {"type": "bleu", "value": "Sorry for the delay.", "threshold": 0.5}
    assert first[6] == {"type": "is-sql"}
    assert first[7] == {"type": "json-schema", "value": {"type": "object", "required": ["reply"]}}
    assert [s["type"] for s in first[8:11]] == ["unsupported"] * 3
    assert first[11] == {"type": "length", "unit": "words", "min": 5, "max": 80}
    # output.toLowerCase() is the `lower` extractor
    assert first[12] == {"type": "icontains", "value": "sorry", "extract": ["lower"]}
    # the test's threshold: its assertions judged as one set, passing at 0.5 of the
    # weighted mean; the nested set (threshold 0.5) counts once in it, as in promptfoo
    (whole,) = second
    assert whole["type"] == "assert-set" and whole["threshold"] == 0.5
    inner = whole["value"]
    # the test's own grader wins over the default one
    assert inner[0]["judge"] == {"provider": "openai", "name": "gpt-4o"}
    assert inner[1] == {
        "type": "assert-set",
        "threshold": 0.5,
        "value": [{"type": "contains", "value": "cancel"}, {"type": "contains", "value": "plan"}],
    }
    assert inner[2]["type"] == "unsupported"  # a transform that is a program
    assert inner[3]["extract"] == [{"json-path": "$.reply"}]
    imported.load()  # and the loader accepts all of it


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("contains: Paris", {"type": "contains", "value": "Paris"}),
        ("not-contains:London", {"type": "not-contains", "value": "London"}),
        ("similar(0.8): a cat", {"type": "similar", "value": "a cat", "threshold": 0.8}),
        ("fn: output.length < 5", {"type": "javascript", "value": "output.length < 5"}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("is-json", {"type": "is-json"}),
        ("ratio: 3:1", {"type": "equals", "value": "ratio: 3:1"}),  # not a type: equals
    ],
)
def test_csv_assertion_cells(cell: str, want: dict[str, Any]) -> None:
    assert parse_csv_assertion(cell, KNOWN_TYPES) == want


def test_detects_promptfoo_configs(tmp_path: Path) -> None:
    assert detect_format(ECHO) == "promptfoo"
    suite = tmp_path / "suite.yaml"
    suite.write_text("id: x\nprompt: hi\ncases: [{vars: {}}]\n")
    assert detect_format(suite) is None


@pytest.mark.parametrize(
    ("config", "where", "needle"),
    [
        (
            "prompts: [hi]\nproviders: [echo]\ntests:\n  - vars: {a: 1}\n"
            "    assert:\n      - value: x\n",
            ":6",
            "an assertion needs a 'type'",
        ),
        (
            "prompts: [hi]\nproviders: [echo]\ntests:\n  - file://missing.csv\n",
            ":4",
            "'file://missing.csv': no such file",
        ),
        (
            "prompts: [hi]\nproviders: [echo]\ntests:\n  - vars: {a: file://nothing.txt}\n",
            ":4",
            "no such file",
        ),
        (
            "prompts: [hi]\nproviders: [echo]\ntests:\n  - assert:\n"
            "      - $ref: '#/assertionTemplates/x'\n",
            ":5",
            "names no assertion template",
        ),
        ("prompts: [hi\n", ":2", "invalid YAML"),
        ("prompts: [hi]\ntests: huggingface://datasets/x\n", ":2", "huggingface://"),
    ],
)
def test_bad_configs_name_file_line_and_field(
    tmp_path: Path, config: str, where: str, needle: str
) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(config)
    with pytest.raises(SuiteError) as info:
        import_file("promptfoo", path)
    message = str(info.value)
    assert f"{path}{where}" in message and needle in message


def test_bad_csv_row_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "tests.csv").write_text("q,__expected\nfine,contains: f\nbroken\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text("prompts: ['{{q}}']\nproviders: [echo]\ntests: file://tests.csv\n")
    with pytest.raises(SuiteError, match=r"tests\.csv:3: 1 values for 2 columns"):
        import_file("promptfoo", path)


def test_cli_refuses_unknown_format_and_reports_errors(tmp_path: Path) -> None:
    proc = evalbook("import", "promptfu", str(ECHO), check=None)
    assert proc.returncode != 0 and "promptfoo" in proc.stderr
    bad = tmp_path / "promptfooconfig.yaml"
    bad.write_text("prompts: [hi]\nproviders: [echo]\ntests:\n  - assert: [{value: 1}]\n")
    out = tmp_path / "out.yaml"
    proc = evalbook("import", "promptfoo", str(bad), "-o", str(out), check=1)
    assert f"{bad}:4" in proc.stderr and not out.exists()


def test_a_var_some_tests_lack_renders_empty_as_in_promptfoo(tmp_path: Path) -> None:
    (tmp_path / "providers.yaml").write_text("- id: echo\n  label: echo\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts:\n"
        '  - "{% if context %}Context: {{ context }}\\n{% endif %}Q: {{ question }}"\n'
        "providers: file://providers.yaml\n"
        "tests:\n"
        "  - vars: {question: a, context: c}\n"
        "    assert: [{type: contains, value: 'Context: c'}]\n"
        "  - vars: {question: b}\n"
        "    assert: [{type: not-contains, value: Context}]\n"
    )
    imported = import_file("promptfoo", path)
    # from the file, with its label
    assert imported.data["models"] == [{"label": "echo", "provider": "mock", "name": "echo"}]
    assert imported.data["cases"][1]["vars"] == {"question": "b", "context": ""}
    (note,) = [n for n in imported.report.notes if n.feature == "var context"]
    assert note.mapped and note.line == 4
    record = run_json(str(path))
    assert record["passed"] is True and record["metrics"]["pass_rate"] == 1.0
