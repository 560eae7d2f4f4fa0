"""Valid suite files of every form load to the expected Suite."""

from __future__ import annotations

import base64
import hashlib
import textwrap
from pathlib import Path

import pytest

from evalbook.core.messages import Message
from evalbook.core.suite import Suite
from evalbook.errors import SuiteError
from evalbook.suites import load_suite, load_suite_from_dict, suite_from_cases
from evalbook.suites.cases import case_id_for

FIXTURES = Path(__file__).parents[1] / "fixtures" / "suites"
EXAMPLES = Path(__file__).parents[2] / "examples" / "suites"


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shorthand_forms() -> None:
    suite = load_suite(FIXTURES / "shorthand.yaml")
    assert suite.id == "shorthand"
    assert suite.name == "shorthand"
    assert suite.version == "1"
    assert suite.threshold == 1.0
    assert suite.source == str(FIXTURES / "shorthand.yaml")
    assert suite.model is not None
    assert (suite.model.provider, suite.model.name) == ("mock", "echo")
    assert suite.prompt.name == "shorthand"
    [version] = suite.prompt.versions
    assert version.version == 1
    assert version.system is None
    assert version.messages == [Message(role="user", content="Q: {{ question }}")]
    assert [s.type for s in suite.scorers] == ["non-empty", "contains"]
    assert suite.scorers[1].value == "{{ expected }}"
    first, second = suite.cases
    assert first.id == "add-1"
    assert first.vars == {"question": "What is 2+3?"}
    assert first.expected == "5"
    assert second.id.startswith("c-")
    assert len(second.id) == 14


def test_single_version_mapping() -> None:
    suite = load_suite(FIXTURES / "single_version.yaml")
    assert (suite.name, suite.description) == ("Single version", suite.description)
    assert suite.version == "3"
    assert suite.threshold == 0.5
    assert suite.tags == ["smoke"]
    assert suite.model is not None
    assert suite.model.spec == "openai:gpt-4o-mini"
    assert (suite.model.temperature, suite.model.max_tokens) == (0.2, 32)
    assert suite.prompt.name == "qa"
    version = suite.prompt.latest
    assert version.system == "You answer {{ style }}."
    assert version.messages == [Message(role="user", content="{{ question }}")]
    assert [(s.type, s.value) for s in suite.render_assertions] == [("not-contains", "TODO")]
    case = suite.cases[0]
    assert case.choices == ["Paris", "Rome"]
    assert (case.section, case.tags, case.metadata) == ("geo", ["europe"], {"difficulty": 1})
    assert [s.type for s in case.scorers] == ["equals"]
    chat = suite.cases[1]
    assert chat.messages is not None
    assert [m.role for m in chat.messages] == ["user", "assistant", "user"]


def test_versions_mapping() -> None:
    suite = load_suite(FIXTURES / "versions.yaml")
    assert [v.version for v in suite.prompt.versions] == [1, 2, 3]
    assert suite.prompt.get(1).messages[0].content == "Q: {{ question }}"
    assert suite.prompt.get(2).messages[0].content == "Question: {{ question }}\nAnswer:"
    assert suite.prompt.latest.system == "Be terse."
    assert suite.model is not None
    assert suite.model.provider == "openai-compatible"
    assert suite.model.base_url == "http://127.0.0.1:8000/v1"
    assert suite.model.temperature == 0


def test_prompt_may_be_left_out_when_cases_bring_messages() -> None:
    suite = load_suite(FIXTURES / "no_prompt.yaml")
    assert suite.prompt.latest.messages == []
    assert suite.model is None


def test_case_without_anything_to_send_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "id: x\ncases:\n  - id: a\n    vars: {q: 1}\n")
    with pytest.raises(SuiteError, match=r"suite\.yaml:3: cases\[0\]: case 'a' has no messages"):
        load_suite(path)


def test_includes_jsonl_and_csv() -> None:
    suite = load_suite(FIXTURES / "includes.yaml")
    by_id = {c.id: c for c in suite.cases}
    flat = by_id["flat"]
    assert flat.vars == {"question": "flat?", "extra_var": 7}
    assert flat.expected == "yes"
    assert flat.section == "from-jsonl"  # the include's section fills in
    assert flat.tags == ["t1", "jsonl"]
    structured = next(c for c in suite.cases if c.vars == {"question": "structured?"})
    assert structured.expected == {"answer": 42}
    assert structured.section == "own"  # a case's own section wins
    with_image = next(c for c in suite.cases if c.vars == {"question": "no id?"} and c.assets)
    assert with_image.assets[0].media_type == "image/png"  # relative to the dataset file
    csv_case = by_id["csv-1"]
    assert csv_case.vars == {"question": "two\nlines?"}
    assert (csv_case.expected, csv_case.section) == ("2", "math")
    assert csv_case.tags == ["a", "b", "csv"]
    assert csv_case.choices == ["x", "y"]
    empty = next(c for c in suite.cases if c.vars == {"question": "no id?"} and not c.assets)
    assert empty.expected is None  # an empty CSV cell is "not given"
    assert empty.id.startswith("c-")
    assert [c.id for c in suite.cases][:2] == ["inline", "flat"]


def test_images_are_inlined_with_hash() -> None:
    suite = load_suite(FIXTURES / "assets.yaml")
    raw = (FIXTURES / "img" / "dot.png").read_bytes()
    from_file, inline = (c.assets[0] for c in suite.cases)
    assert from_file.media_type == "image/png"
    assert base64.b64decode(from_file.data) == raw
    assert from_file.sha256 == hashlib.sha256(raw).hexdigest()
    assert inline == from_file


def test_examples_load() -> None:
    basic = load_suite(EXAMPLES / "basic.yaml")
    assert basic.model is not None
    assert basic.model.spec == "mock:echo"
    dataset = load_suite(EXAMPLES / "with_dataset.yaml")
    assert len(dataset.cases) == 7
    assert {c.section for c in dataset.cases} == {"geography", "arithmetic"}


def test_generated_ids_are_stable_across_reorder(tmp_path: Path) -> None:
    cases = ["  - vars: {q: one}\n", "  - vars: {q: two}\n    expected: 2\n", "  - vars: {q: 3}\n"]
    head = "id: x\nprompt: '{{ q }}'\ncases:\n"
    forward = load_suite(write(tmp_path, head + "".join(cases), "a.yaml"))
    backward = load_suite(write(tmp_path, head + "".join(reversed(cases)), "b.yaml"))
    ids = {c.vars["q"]: c.id for c in forward.cases}
    assert ids == {c.vars["q"]: c.id for c in backward.cases}
    assert len(set(ids.values())) == 3
    assert all(case_id_for(c) == c.id for c in forward.cases)


def test_generated_id_depends_on_content() -> None:
    a = load_suite_from_dict({"id": "x", "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}}]})
    b = load_suite_from_dict(
        {"id": "x", "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}, "expected": 1}]}
    )
    assert a.cases[0].id != b.cases[0].id


def test_integer_ids_and_versions_become_strings() -> None:
    suite = load_suite_from_dict(
        {"id": "x", "version": 2, "prompt": "{{ q }}", "cases": [{"id": 7, "vars": {"q": 1}}]}
    )
    assert (suite.version, suite.cases[0].id) == ("2", "7")


def _suite(**changes: object) -> Suite:
    data: dict[str, object] = {
        "id": "hash",
        "prompt": "{{ q }}",
        "scorers": ["non-empty"],
        "cases": [{"id": "a", "vars": {"q": "1"}, "expected": "1"}],
    }
    data.update(changes)
    return load_suite_from_dict(data)


def test_content_hash_is_stable_and_tracks_cases(tmp_path: Path) -> None:
    assert _suite().hash == _suite().hash
    assert _suite(model="mock:echo").hash == _suite().hash  # the default model is not content
    changed = _suite(cases=[{"id": "a", "vars": {"q": "1"}, "expected": "2"}])
    assert changed.hash != _suite().hash
    # The same suite written as YAML hashes the same as the dict.
    path = write(
        tmp_path,
        """
        id: hash
        prompt: "{{ q }}"
        scorers: [non-empty]
        cases:
          - {id: a, vars: {q: "1"}, expected: "1"}
        """,
    )
    assert load_suite(path).hash == _suite().hash


def test_loaded_values_are_plain_containers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        id: x
        prompt: "{{ q }}"
        cases:
          - id: a
            vars: {q: [1, {b: 2}]}
            expected: {k: [1]}
            metadata: {m: {n: 1}}
        """,
    )
    case = load_suite(path).cases[0]
    assert type(case.vars["q"]) is list
    assert type(case.vars["q"][1]) is dict
    assert type(case.expected) is dict
    assert type(case.metadata["m"]) is dict


def test_dict_api_refuses_file_references() -> None:
    data = {"id": "x", "prompt": "hi", "cases": [{"file": "cases.jsonl"}]}
    with pytest.raises(SuiteError, match="needs a base directory"):
        load_suite_from_dict(data)
    loaded = load_suite_from_dict(
        {"id": "x", "prompt": "{{ question }}", "cases": [{"file": "cases.jsonl"}]},
        base_dir=EXAMPLES,
    )
    assert len(loaded.cases) == 3


def test_suite_from_cases_takes_flat_rows() -> None:
    suite = suite_from_cases(
        "borrowers",
        [{"borrower_name": "Budi", "loan": 5}, {"vars": {"borrower_name": "Siti", "loan": 3}}],
        prompt="Summarise {{ borrower_name }}'s loan of {{ loan }}.",
        scorers=["non-empty"],
    )
    assert [c.vars["borrower_name"] for c in suite.cases] == ["Budi", "Siti"]
    assert suite.scorers[0].type == "non-empty"


def test_dict_input_is_copied() -> None:
    data = {"id": "x", "prompt": "{{ q }}", "cases": [{"id": "a", "vars": {"q": [1]}}]}
    suite = load_suite_from_dict(data)
    data["cases"][0]["vars"]["q"].append(2)  # type: ignore[index]
    assert suite.cases[0].vars == {"q": [1]}


def test_yaml_dates_get_a_stable_generated_id(tmp_path: Path) -> None:
    path = write(tmp_path, "id: x\nprompt: '{{ day }}'\ncases:\n  - vars: {day: 2024-01-02}\n")
    first, second = load_suite(path), load_suite(path)
    assert first.cases[0].id == second.cases[0].id
    assert first.hash == second.hash
