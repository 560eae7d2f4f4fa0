"""Files that would make a parser hang or crash get a fast, clear error naming the file and
line: a YAML alias bomb, and JSON nested past the interpreter's recursion limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from evalbook.errors import SuiteError
from evalbook.importers._files import read_rows, read_structured
from evalbook.suites import load_suite


def _alias_bomb(levels: int = 10) -> str:
    """A few hundred bytes that expand to 9**levels strings."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    text = _alias_bomb() + 'id: bomb\nmodel: "mock:echo"\nprompt: "{{ q }}"\n'
    suite.write_text(text + "cases: [{vars: {q: *l9}}]\n")
    assert len(text) < 1000
    started = time.process_time()
    expands = r"aliases would expand the document by [\d,]{13} nodes"
    with pytest.raises(SuiteError, match=expands) as exc:
        load_suite(suite)
    assert time.process_time() - started < 5  # linear in the file, not in the expansion
    assert exc.value.location == f"{suite}:10"


def test_aliases_that_reuse_a_block_still_load(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "id: reuse\nmodel: 'mock:echo'\nprompt: '{{ q }}'\n"
        "scorers: &common [{contains: a}, {icontains: A}]\n"
        "cases:\n" + "".join(f"  - {{vars: {{q: a{i}}}, scorers: *common}}\n" for i in range(50))
    )
    loaded = load_suite(suite)
    assert len(loaded.cases) == 50


@pytest.mark.parametrize(
    ("text", "walked"),
    [
        ("a: [1, 2]\nb: {c: 'x'}\n", False),
        ("note: '**bold** costs 5 * 3'\n", False),  # a `*`, no anchor: no alias
        ("q: 'Q&A'\nr: R&D\n", False),  # a `&`, no alias
        ("q: 'Q&A *now*'\n", True),  # both: walked (nothing to refuse)
        ("a: &x [1]\nb: *x\n", True),
    ],
)
def test_only_a_text_that_can_hold_an_alias_is_walked_for_them(
    text: str, walked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting what aliases add walks every node (a fifth of a big suite file's parse):
    an alias is written `*name` naming an anchor `&name`, so a text without both holds
    none and is not walked; what it builds is the same either way."""
    from evalbook.suites import yaml_lines

    calls: list[object] = []
    check = yaml_lines._check_expansion
    monkeypatch.setattr(yaml_lines, "_check_expansion", lambda node: calls.append(check(node)))
    value = yaml_lines.parse_yaml(text, "x.yaml")
    assert bool(calls) is walked
    assert yaml_lines.plain(value) == yaml.safe_load(text)


def test_recursive_aliases_do_not_hang(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    path.write_text("a: &a [*a, *a]\n")
    value = read_structured(path, "x")
    assert value["a"][0] is value["a"]


def test_json_nested_too_deeply_names_the_file_and_line(tmp_path: Path) -> None:
    deep = '{"vars": ' + '{"a": ' * 200_000 + "1" + "}" * 200_000 + "}"
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text('{"vars": {"q": "fine"}}\n' + deep + "\n")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "id: deep\nmodel: 'mock:echo'\nprompt: '{{ q }}'\ncases: [{file: cases.jsonl}]\n"
    )
    with pytest.raises(SuiteError, match="nested too deeply") as exc:
        load_suite(suite)
    assert "cases.jsonl:2" in str(exc.value)
    with pytest.raises(SuiteError, match="nested too deeply") as exc:
        read_rows(dataset, "x")
    assert exc.value.location == f"{dataset}:2"
    single = tmp_path / "deep.json"
    single.write_text(deep)
    with pytest.raises(SuiteError, match="nested too deeply"):
        read_structured(single, "x")


def test_yaml_nested_too_deeply_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(SuiteError, match="nested too deeply"):
        read_structured(path, "x")
