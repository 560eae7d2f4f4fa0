"""Line tracking of the YAML reader."""

from __future__ import annotations

import yaml

from evalbook.suites.yaml_lines import LineDict, LineList, line_at, parse_yaml, plain

TEXT = """\
id: x
cases:
  - id: a
    vars: {q: 1}
  - id: b
    vars:
      q: 2
    expected:
      nested: [1, 2]
when: 2024-01-02
"""


def test_same_values_as_safe_load() -> None:
    data = parse_yaml(TEXT, "t.yaml")
    assert data == yaml.safe_load(TEXT)
    assert plain(data) == yaml.safe_load(TEXT)
    assert type(plain(data)["cases"]) is list


def test_lines_of_keys_and_items() -> None:
    data = parse_yaml(TEXT, "t.yaml")
    assert isinstance(data, LineDict)
    assert isinstance(data["cases"], LineList)
    assert line_at(data, ()) == 1
    assert line_at(data, ("cases",)) == 3
    assert line_at(data, ("cases", 1)) == 5
    assert line_at(data, ("cases", 1, "vars", "q")) == 7
    assert line_at(data, ("cases", 1, "expected", "nested", 1)) == 9
    assert line_at(data, ("cases", 1, "missing", "deeper")) == 5
    assert line_at(data, ("cases", 7)) == 3
    assert line_at({"plain": 1}, ("plain",)) is None
