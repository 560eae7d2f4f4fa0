"""Text that is not valid Unicode: JSON lets a lone surrogate be written (``"\\ud800"``,
half of a pair), which no UTF-8 text can hold. A suite holding one is refused at load,
naming the file and line (or the case), never with a traceback and nothing recorded; the
same for a dataset uploaded onto a suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalbook.errors import SuiteError
from evalbook.suites import load_suite, load_suite_from_dict
from evalbook.suites.derive import suite_with_dataset

BAD_ROW = '{"id": "b", "q": "bad \\ud800 here"}\n'


def _dataset_suite(tmp_path: Path) -> Path:
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "q": "fine"}\n' + BAD_ROW)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "id: s\nprompt: '{{ q }}'\nscorers: [{equals: x}]\ncases:\n  - file: cases.jsonl\n"
    )
    return suite


def test_a_dataset_row_with_a_lone_surrogate_names_its_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite(_dataset_suite(tmp_path))
    message = str(caught.value)
    assert f"{tmp_path / 'cases.jsonl'}:2:" in message
    assert "lone surrogate '\\ud800'" in message


def test_an_inline_case_with_a_lone_surrogate_names_the_case(tmp_path: Path) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text(
        '{"id": "s", "prompt": "{{ q }}", "scorers": [{"equals": "x"}],\n'
        ' "cases": [{"id": "a", "vars": {"q": "ok"}}, {"id": "b", "vars": {"q": "\\udfff"}}]}'
    )
    with pytest.raises(SuiteError) as caught:
        load_suite(suite)
    assert "cases[1]" in str(caught.value) and "lone surrogate" in str(caught.value)


def test_a_valid_pair_of_surrogate_escapes_is_one_character(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "q": "smile \\ud83d\\ude00"}\n')
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "id: s\nprompt: '{{ q }}'\nscorers: [{equals: x}]\ncases:\n  - file: cases.jsonl\n"
    )
    loaded = load_suite(suite)
    assert loaded.cases[0].vars["q"] == "smile \U0001f600"
    assert len(loaded.hash) == 64


def test_an_uploaded_dataset_with_a_lone_surrogate_names_its_line() -> None:
    base = load_suite_from_dict(
        {"id": "s", "prompt": "{{ q }}", "scorers": [{"equals": "x"}], "cases": [{"id": "a"}]}
    )
    with pytest.raises(SuiteError) as caught:
        suite_with_dataset(base, '{"id": "a", "q": "fine"}\n' + BAD_ROW, "more.jsonl")
    assert "more.jsonl:2:" in str(caught.value) and "lone surrogate" in str(caught.value)
