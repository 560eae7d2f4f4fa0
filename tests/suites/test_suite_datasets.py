"""JSONL and CSV datasets: forms, line numbers, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalbook.errors import SuiteError
from evalbook.suites import load_suite
from evalbook.suites.datasets import case_from_row, read_dataset
from evalbook.suites.problems import Problems


def test_case_from_row_flat_and_structured() -> None:
    assert case_from_row({"q": 1, "expected": 2, "id": "a"}) == {
        "id": "a",
        "expected": 2,
        "vars": {"q": 1},
    }
    structured = {"vars": {"q": 1}, "expected": 2}
    assert case_from_row(structured) == structured


def test_jsonl_rows_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"q": 1}\n\n{"q": 2}\n', encoding="utf-8")
    problems = Problems("s.yaml")
    rows = read_dataset(path, "d.jsonl", problems)
    assert [r.where.line for r in rows] == [1, 3]
    assert not problems


def test_csv_row_lines_count_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('id,q\na,"x\ny"\nb,z\n\nc,w\n', encoding="utf-8")
    problems = Problems("s.yaml")
    rows = read_dataset(path, "d.csv", problems)
    assert [(r.data["id"], r.where.line) for r in rows] == [("a", 2), ("b", 4), ("c", 6)]


def test_jsonl_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"q": 1}\n[1, 2]\n{"q": \n', encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: '{{ q }}'\ncases:\n  - file: d.jsonl\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "s.yaml")
    message = str(info.value)
    assert "d.jsonl:2: a JSONL line must be a JSON object, not an array" in message
    assert "d.jsonl:3: invalid JSON at column" in message


def test_csv_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,q\na,1\nb,2,extra\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: '{{ q }}'\ncases:\n  - file: d.csv\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError, match=r"d\.csv:3: row has 3 cells, the header has 2"):
        load_suite(tmp_path / "s.yaml")


def test_unsupported_dataset_type(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: hi\ncases:\n  - file: d.txt\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:4: cases\[0\]\.file: .*unsupported"):
        load_suite(tmp_path / "s.yaml")


def test_include_with_case_fields_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: hi\ncases:\n  - file: d.jsonl\n    vars: {a: 1}\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:4: cases\[0\]: a dataset include takes only"):
        load_suite(tmp_path / "s.yaml")


def test_a_duplicate_id_in_datasets_names_both_rows(tmp_path: Path) -> None:
    """The first place of every id is kept as the row's file and line; the message names
    both rows, across two dataset files too."""
    (tmp_path / "a.jsonl").write_text('{"id": "x", "q": 1}\n\n{"id": "same", "q": 2}\n')
    (tmp_path / "b.csv").write_text("id,q\nother,3\nsame,4\n")
    (tmp_path / "s.yaml").write_text(
        "id: dup\nprompt: '{{ q }}'\ncases:\n  - file: a.jsonl\n  - file: b.csv\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "s.yaml")
    message = str(info.value)
    assert (
        f"{tmp_path / 'b.csv'}:3: duplicate case id 'same', first used at"
        f" {tmp_path / 'a.jsonl'}:3" in message
    )
