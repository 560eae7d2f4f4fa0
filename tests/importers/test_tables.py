"""Tables (JSONL, CSV, Parquet) with a column mapping, and Inspect datasets, imported and
run against the local test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalbook.errors import ConfigError, SuiteError
from evalbook.importers import ImportOptions, import_file
from evalbook.prompts.render import render_messages
from evalbook.suites import load_suite

from .helpers import FIXTURES, evalbook, run_json, statuses

INSPECT = FIXTURES / "inspect"


def _parquet(path: Path) -> Path:
    table = pa.table(
        {
            "qid": ["a1", "a2", "a3", "a4"],
            "question": [
                "[[answer=Paris]] Capital of France?",
                "[[answer=Berlin]] Capital of Germany?",
                "[[answer=Rome]] Capital of Spain?",
                "[[answer=42]] The answer?",
            ],
            "answer": ["Paris", "Berlin", "Madrid", "42"],
            "subject": ["geo", "geo", "geo", "misc"],
            "points": [1, 2, 3, 4],
        }
    )
    pq.write_table(table, path)
    return path


def test_parquet_table_imports_with_a_column_mapping(tmp_path: Path, server: Any) -> None:
    data = _parquet(tmp_path / "capitals.parquet")
    out = tmp_path / "suite.yaml"
    proc = evalbook(
        "import", "table", str(data), "-o", str(out), "--input", "question",
        "--expected", "answer", "--section", "subject", "--id", "qid",
        "--model", f"openai-compatible:test-model@{server.base_url}",
    )  # fmt: skip
    assert "4 cases imported" in proc.stderr
    suite = load_suite(out)
    assert [c.id for c in suite.cases] == ["a1", "a2", "a3", "a4"]
    assert suite.cases[0].expected == "Paris" and suite.cases[3].section == "misc"
    assert suite.cases[1].vars["points"] == 2  # every column is a variable, typed
    assert [s.type for s in suite.scorers] == ["exact-match"]
    record = run_json(str(out))
    assert statuses(record["id"]) == {
        "a1": "passed",
        "a2": "passed",
        "a3": "failed",
        "a4": "passed",
    }
    sections = record["metrics"]["sections"]
    assert sections["geo"] == pytest.approx(2 / 3)


def test_table_scorer_option_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("q,a\nhello,hi\n")
    options = ImportOptions(
        columns={"input": "q", "expected": "a"}, scorers=("{contains: hi}", "is-json")
    )
    imported = import_file("table", path, options)
    assert imported.data["scorers"] == [{"contains": "hi"}, "is-json"]
    assert imported.data["prompt"] == "{{ q }}"
    imported.load()


@pytest.mark.parametrize(
    ("columns", "error", "needle"),
    [
        ({}, ConfigError, "needs --input COLUMN"),
        ({"input": "q", "expected": "answr"}, SuiteError, "--expected 'answr': no such column"),
        ({"input": "q", "answer": "a"}, ConfigError, "unknown column role"),
    ],
)
def test_bad_column_mappings(
    tmp_path: Path, columns: dict[str, str], error: type[Exception], needle: str
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"q": "x", "a": "y"}\n')
    with pytest.raises(error, match=needle) as info:
        import_file("table", path, ImportOptions(columns=columns))
    if error is SuiteError:
        assert f"{path}:1" in str(info.value)


def test_corrupt_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(SuiteError, match="cannot read Parquet") as info:
        import_file("table", path, ImportOptions(columns={"input": "q"}))
    assert str(path) in str(info.value)


def test_inspect_jsonl_dataset(tmp_path: Path, server: Any) -> None:
    imported = import_file("inspect", INSPECT / "qa.jsonl")
    data = imported.data
    assert data["prompt"] == "{{ input }}"
    assert data["scorers"] == ["exact-match"]
    cases = {c["id"]: c for c in data["cases"]}
    assert cases["q1"]["metadata"] == {"topic": "geography"}
    assert cases["q2"]["expected"] == "4"  # Inspect targets are text
    assert cases["q3"]["expected"] == ["Mars", "the red planet"]
    assert [m["role"] for m in cases["q4"]["messages"]] == ["system", "user"]
    assert [(n.feature, n.line) for n in imported.report.unmapped] == [("files", 5)]
    suite = imported.load()
    sent = render_messages(suite.prompt.get(None), suite.cases[3])[-1].content
    assert sent == "[[answer=Blue]] Colour of the sky? {{ not a var }}"
    model = f"openai-compatible:test-model@{server.base_url}"
    out = tmp_path / "qa.yaml"
    out.write_text(
        import_file("inspect", INSPECT / "qa.jsonl", ImportOptions(model=model)).to_yaml()
    )
    record = run_json(str(out))
    assert statuses(record["id"]) == {
        "q1": "passed",
        "q2": "passed",
        "q3": "passed",  # any of the targets
        "q4": "passed",  # "Blue" is "blue" after normalisation
        "q5": "failed",
    }


def test_inspect_multiple_choice_csv_runs_against_the_test_server(
    tmp_path: Path, server: Any
) -> None:
    out = tmp_path / "mcq.yaml"
    evalbook(
        "import", "inspect", str(INSPECT / "mcq.csv"), "-o", str(out),
        "--model", f"openai-compatible:test-model@{server.base_url}",
    )  # fmt: skip
    suite = load_suite(out)
    assert suite.cases[0].choices == ["Mars", "Jupiter", "Venus"]
    assert suite.cases[0].metadata == {"difficulty": "easy"}
    assert [s.type for s in suite.scorers] == ["choice"]
    prompt = render_messages(suite.prompt.get(None), suite.cases[0])[-1].content
    assert prompt == (
        "[[answer=B]] Largest planet?\n\nA) Mars\nB) Jupiter\nC) Venus\n"
        "Answer with the letter of the correct choice."
    )
    record = run_json(str(out))
    assert statuses(record["id"]) == {"m1": "passed", "m2": "passed", "m3": "failed"}
