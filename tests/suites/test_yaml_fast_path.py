"""Suite files are read by libyaml's parser (PyYAML's C extension) when it is there, nine
tenths of a big suite file's load in the pure-Python one. What is built must not change:
the same values and the same lines of every item and key, for every YAML file of the
project and for YAML's odd corners; a document libyaml refuses is read again by the
pure-Python parser, so its errors (and what only it reads) are what an author sees."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalbook.errors import SuiteError
from evalbook.suites import yaml_lines
from evalbook.suites.yaml_lines import LineDict, LineList, parse_yaml, plain

ROOT = Path(__file__).resolve().parents[2]

ODD_CORNERS = [
    # anchors, aliases and merge keys
    "base: &b {x: 1, y: [a, b]}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\n",
    # block scalars, folded and literal, with and without a trailing newline
    "lit: |\n  one\n  two\nfold: >-\n  three\n  four\nkeep: |+\n  five\n\n",
    # implicit types: booleans, nulls, numbers, timestamps, strings that look like them
    "a: yes\nb: ~\nc: 0x1f\nd: 1e3\ne: 2026-12-06\nf: '0123'\ng: .inf\nh: 12:30\n",
    # unicode, escapes, comments, empty values, nested flow collections
    'u: "é ✓ \\u00e9 \\t"\n# a comment\nempty:\nflow: {a: [1, {b: c}], d: []}\n',
    # a sequence of mappings at the top, blank lines and trailing spaces
    "- id: a   \n  vars: {q: 1}\n\n- id: b\n  vars:\n    q: |\n      text\n",
    # multi-line plain and quoted scalars
    "p: one\n  two\nq: 'it''s\n  folded'\n",
]


def _lines(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every line a parsed document carries, by path."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, LineDict):
        out.append((path, value.line))
        out.extend((f"{path}.{k}", line) for k, line in sorted(value.key_lines.items(), key=str))
        for k, v in value.items():
            out.extend(_lines(v, f"{path}.{k}"))
    elif isinstance(value, LineList):
        out.append((path, (value.line, list(value.item_lines))))
        for i, v in enumerate(value):
            out.extend(_lines(v, f"{path}[{i}]"))
    return out


def _project_yaml() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml"], cwd=ROOT, capture_output=True, text=True
    )
    files = [ROOT / name for name in listed.stdout.split()]
    return [f for f in files if f.is_file()]


def _both(text: str) -> tuple[Any, Any]:
    assert yaml_lines._FastLineLoader is not None, "PyYAML without libyaml"
    fast = yaml.load(text, Loader=yaml_lines._FastLineLoader)
    slow = yaml.load(text, Loader=yaml_lines._LineLoader)
    return fast, slow


def _refused(text: str, loader: Any) -> int | None:
    """The line where ``loader`` refuses ``text`` (None: it reads it)."""
    try:
        yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        return exc.problem_mark.line if exc.problem_mark else -1
    return None


def test_every_yaml_file_of_the_project_reads_the_same_both_ways() -> None:
    files = _project_yaml()
    assert len(files) > 50  # the examples, the quickstart's suites, the fixtures
    read = 0
    for path in files:
        text = path.read_text()
        refused = _refused(text, yaml_lines._LineLoader)
        if refused is not None:  # a fixture of a broken file: libyaml refuses it too
            assert _refused(text, yaml_lines._FastLineLoader) is not None, path
            continue
        fast, slow = _both(text)
        assert plain(fast) == plain(slow), path
        assert _lines(fast) == _lines(slow), path
        read += 1
    assert read > 50


@pytest.mark.parametrize("text", ODD_CORNERS)
def test_yamls_odd_corners_read_the_same_both_ways(text: str) -> None:
    fast, slow = _both(text)
    assert plain(fast) == plain(slow)
    assert _lines(fast) == _lines(slow)
    assert parse_yaml(text, "x.yaml") == fast


def test_parse_yaml_reads_with_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[type] = []
    real = yaml_lines._load

    def spy(text: str, loader_class: type[yaml.SafeLoader]) -> Any:
        used.append(loader_class)
        return real(text, loader_class)

    monkeypatch.setattr(yaml_lines, "_load", spy)
    assert parse_yaml("id: s\ncases: [{id: a}]\n", "s.yaml") == {"id": "s", "cases": [{"id": "a"}]}
    assert used == [yaml_lines._FastLineLoader]


def test_what_libyaml_refuses_is_read_again_by_the_python_parser() -> None:
    # A lone surrogate's escape: libyaml refuses it, the Python parser reads it (and the
    # suite's checks then name the case); the error of a document both refuse is the
    # Python parser's, at its line and column.
    assert parse_yaml('q: "\\udfff"\n', "s.yaml") == {"q": "\udfff"}
    with pytest.raises(SuiteError) as bad:
        parse_yaml("a: [1, 2\nb: 3\n", "s.yaml")
    assert str(bad.value).startswith("s.yaml:2:")
    with pytest.raises(SuiteError, match="nested too deeply"):
        parse_yaml("a: " + "[" * 5_000 + "]" * 5_000 + "\n", "s.yaml")
    with pytest.raises(SuiteError, match="found duplicate key 'a' \\(first given at line 1\\)"):
        parse_yaml("a: 1\nb: 2\na: 3\n", "s.yaml")
