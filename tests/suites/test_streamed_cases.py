"""Dataset cases are read as they are consumed and kept as their canonical JSON: a big
dataset neither holds its text nor a model per case, and the suite it makes is the same
instrument (definition, hash, cases) as the same cases written inline."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from evalbook.core.identity import canonical_json
from evalbook.core.suite import CaseList
from evalbook.errors import SuiteError
from evalbook.prompts.render import missing_variables_everywhere
from evalbook.suites import load_suite, load_suite_from_dict

ROWS = [
    {"id": "a", "q": "2+2?", "expected": "4", "tags": ["math"]},
    {"q": "no id: made from the content", "expected": {"any": ["json", 1.5, None]}},
    {"id": "u", "q": 'é ✓ "quoted" \\ tab\t', "n": 3.5, "section": "unicode"},
    {"id": "s", "vars": {"q": "structured"}, "metadata": {"k": [1, 2]}, "choices": ["x", "y"]},
]
SUITE = "id: streamed\nprompt: 'Q: {{ q }}'\nscorers: [{equals: '{{ expected }}'}]\n"


def _write(folder: Path, rows: list[dict[str, object]]) -> Path:
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "cases.csv").write_text('id,q,expected,tags\ncsv1,"a, b",1,x;y\n')
    path = folder / "suite.yaml"
    path.write_text(
        SUITE + "cases:\n  - {id: inline, vars: {q: here}}\n  - file: cases.jsonl\n"
        "    section: jsonl\n  - file: cases.csv\n"
    )
    return path


def test_a_streamed_dataset_is_the_same_instrument_as_inline_cases(tmp_path: Path) -> None:
    streamed = load_suite(_write(tmp_path, ROWS))
    assert isinstance(streamed.cases, CaseList) and len(streamed.cases) == 6
    inline = load_suite_from_dict(
        {
            "id": "streamed",
            "prompt": "Q: {{ q }}",
            "scorers": [{"equals": "{{ expected }}"}],
            "cases": [c.model_dump(mode="json") for c in streamed.cases],
        }
    )
    assert isinstance(inline.cases, CaseList)  # inline cases, read as they were written
    assert list(streamed.cases) == inline.cases and streamed.cases == inline.cases
    assert streamed.definition() == inline.definition()
    assert streamed.definition_json() == canonical_json(inline.definition())
    assert streamed.hash == inline.hash == streamed.hash_of(inline.definition())
    assert streamed.cases[2].vars == {"q": "no id: made from the content"}
    assert streamed.cases[2].expected == {"any": ["json", 1.5, None]}
    assert [c.id for c in streamed.cases[3:5]] == ["u", "s"]
    assert streamed.select(None) is streamed.cases
    assert [c.id for c in streamed.select(["csv1", "a"])] == ["a", "csv1"]


def test_a_bad_line_deep_in_a_big_dataset_is_named(tmp_path: Path) -> None:
    rows = [json.dumps({"id": f"c{i}", "q": str(i)}) for i in range(30_000)]
    rows[27_182] = '{"id": "broken", "q": '  # line 27,183
    rows[29_000] = json.dumps({"vars": {"q": "x"}, "expcted": "typo"})  # line 29,001
    (tmp_path / "cases.jsonl").write_text("\n".join(rows) + "\n")
    (tmp_path / "suite.yaml").write_text(SUITE + "cases:\n  - file: cases.jsonl\n")
    with pytest.raises(SuiteError) as err:
        load_suite(tmp_path / "suite.yaml")
    text = str(err.value)
    assert f"{tmp_path / 'cases.jsonl'}:27183: invalid JSON" in text
    assert f"{tmp_path / 'cases.jsonl'}:29001: expcted: unknown field" in text
    assert "2 problems" in text


def test_a_dataset_that_stops_being_utf8_midway_is_refused(tmp_path: Path) -> None:
    good = "".join(json.dumps({"id": f"c{i}", "q": "x" * 50}) + "\n" for i in range(5000))
    (tmp_path / "cases.jsonl").write_bytes(good.encode() + b'{"q": "\xff"}\n')
    (tmp_path / "suite.yaml").write_text(SUITE + "cases:\n  - file: cases.jsonl\n")
    with pytest.raises(SuiteError, match=r"suite.yaml:5: .*cannot read dataset 'cases.jsonl'"):
        load_suite(tmp_path / "suite.yaml")


def test_loading_and_planning_a_big_dataset_holds_no_model_per_case(tmp_path: Path) -> None:
    """Loading a 20,000-case dataset, selecting its cases, checking the prompt's variables
    and hashing it: the cases were ~2 KB each as models (the old loader's peak here was
    ~42 MB); kept as canonical JSON the whole peak stays under 24 MB."""
    with open(tmp_path / "cases.jsonl", "w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": f"c{i}", "q": f"what is {i} + 1?", "expected": f"{i + 1}"}))
            fh.write("\n")
    (tmp_path / "suite.yaml").write_text(SUITE + "cases:\n  - file: cases.jsonl\n")
    tracemalloc.start()
    try:
        suite = load_suite(tmp_path / "suite.yaml")
        cases = suite.select(None)
        assert not missing_variables_everywhere(suite.prompt.latest, cases)
        assert len(suite.hash) == 64 and len(cases) == 20_000
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_the_variable_check_reads_a_dataset_from_its_notes(tmp_path: Path) -> None:
    """The run's up-front variable check gives the same answer on a dataset's cases as
    on the same cases in a list, decoding only those with messages of their own."""
    own = {"role": "user", "content": "{{ w }} {{ nope }}"}
    rows: list[dict[str, object]] = [
        {"id": "a", "q": "x"},
        {"id": "m", "vars": {"w": "1"}, "messages": [own]},
    ]
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "suite.yaml").write_text(
        "id: notes\nprompt: '{{ q }} {{ extra }}'\ncases:\n  - file: cases.jsonl\n"
    )
    suite = load_suite(tmp_path / "suite.yaml")
    assert isinstance(suite.cases, CaseList)
    assert suite.cases.variable_names == {"q", "w"}
    assert [c.id for c in suite.cases.with_own_messages()] == ["m"]
    version = suite.prompt.latest
    found = missing_variables_everywhere(version, suite.cases)
    assert found == missing_variables_everywhere(version, list(suite.cases)) == {"extra", "nope"}
    assert suite.cases.variable_names == {"q", "w"}  # the check changed nothing
    only_own = CaseList([suite.cases[1]])
    assert only_own.all_own_messages and not suite.cases.all_own_messages
    assert missing_variables_everywhere(version, only_own) == {"nope"}
