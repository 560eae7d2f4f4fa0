"""A suite's ``models:`` and ``prompt_versions:``: what loads, and errors that name the
file, the line and the field of the bad entry."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from evalbook.errors import SuiteError
from evalbook.suites import load_suite, suite_json_schema

HEAD = """\
id: mx
prompt:
  name: p
  versions:
    1: "A {{ q }}"
    2: "B {{ q }}"
cases:
  - vars: {q: one}
"""


def _load(tmp_path: Path, tail: str) -> object:
    path = tmp_path / "suite.yaml"
    path.write_text(HEAD + tail)
    return load_suite(path)


def test_every_form_of_a_model_entry(tmp_path: Path) -> None:
    suite = _load(
        tmp_path,
        """\
models:
  - openai:gpt-4o-mini
  - {label: big, spec: "openai:gpt-4o", temperature: 0.7}
  - label: local
    model: "openai-compatible:m@http://127.0.0.1:9/v1"
  - {provider: anthropic, name: claude-x, max_tokens: 64}
prompt_versions: [2, 1]
""",
    )
    models = suite.models  # type: ignore[attr-defined]
    assert [m.label for m in models] == ["openai:gpt-4o-mini", "big", "local", "anthropic:claude-x"]
    assert models[1].model.temperature == 0.7
    assert models[2].model.base_url == "http://127.0.0.1:9/v1"
    assert models[3].model.max_tokens == 64
    assert suite.prompt_versions == [2, 1]  # type: ignore[attr-defined]
    # where each is written, for an error about it (a key that is not set, …)
    path = tmp_path / "suite.yaml"
    assert [m.origin for m in models] == [f"{path}:{n}" for n in (10, 11, 12, 14)]
    # without a model: the first of the list is the suite's model for a single run
    assert suite.model.spec == "openai:gpt-4o-mini"  # type: ignore[attr-defined]


def test_the_matrix_is_neither_stored_nor_hashed(tmp_path: Path) -> None:
    plain = _load(tmp_path, "")
    listed = _load(tmp_path, "models: [openai:a, openai:b]\nprompt_versions: [1]\n")
    assert listed.hash == plain.hash  # type: ignore[attr-defined]
    assert "models" not in listed.definition()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("tail", "where", "says"),
    [
        ("models: openai:a\n", ":9: models: must be a non-empty list", "list"),
        ("models: []\n", ":9: models: must be a non-empty list", "list"),
        ("models:\n  - openai:a\n  - nocolon\n", ":11: models[1]:", "provider:model"),
        ("models:\n  - {label: x, spec: 'openai:a'}\n  - {label: x, spec: 'openai:b'}\n",
         ":11: models[1]: label 'x' is already used by models[0]", "own label"),
        ("models:\n  - {label: x, spec: 'openai:a', tempreature: 1}\n",
         ":10: models[0].tempreature: unknown field", "Extra inputs"),
        ("models:\n  - {label: x, model: 'openai:a', temperature: 1}\n",
         ":10: models[0]: give the model either under 'model' or inline", "temperature"),
        ("models:\n  - {label: x}\n", ":10: models[0]: names no model", "spec"),
        ("models:\n  - {label: '', spec: 'openai:a'}\n", ":10: models[0].label:", "non-empty"),
        ("models:\n  - 3\n", ":10: models[0]: must be a spec string", "mapping"),
        ("prompt_versions: [1, 3]\n", ":9: prompt_versions[1]: the prompt has no version 3",
         "known: 1, 2"),
        ("prompt_versions: [1, 1]\n", ":9: prompt_versions[1]: version 1 is listed twice", ""),
        ("prompt_versions: [one]\n", ":9: prompt_versions[0]: 'one' is not a prompt version",
         ""),
        ("prompt_versions: 2\n", ":9: prompt_versions: must be a non-empty list", ""),
        ("modles: [openai:a]\n", ":9: modles: unknown field", "did you mean 'models'"),
    ],
)  # fmt: skip
def test_bad_entries_name_file_line_and_field(
    tmp_path: Path, tail: str, where: str, says: str
) -> None:
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, tail)
    text = str(caught.value)
    assert f"suite.yaml{where}" in text, text
    assert says in text, text


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, "models:\n  - nocolon\n  - {label: y}\nprompt_versions: [7]\n")
    text = str(caught.value)
    assert "suite.yaml: 3 problems:" in text, text
    for line in ("suite.yaml:10: models[0]", "suite.yaml:11: models[1]", "suite.yaml:12: prompt_v"):
        assert line in text, text


def test_the_json_schema_describes_the_matrix() -> None:
    schema = suite_json_schema()
    base = {"id": "x", "prompt": "p", "cases": [{"vars": {}}]}
    good = {
        **base,
        "models": ["openai:a", {"label": "b", "spec": "openai:b"}, {"model": "openai:c"}],
        "prompt_versions": [1],
    }
    jsonschema.validate(good, schema)
    for bad in ({"models": []}, {"models": [{"label": "x", "tempreature": 1}]},
                {"prompt_versions": [0]}):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**base, **bad}, schema)


def test_case_filters_and_derived_metrics_load_and_are_not_hashed(tmp_path: Path) -> None:
    plain = _load(tmp_path, "")
    suite = _load(
        tmp_path,
        """\
models: [{label: a, spec: "openai:a"}, {label: b, spec: "openai:b"}]
prompt_versions: [1, 2]
case_filters:
  case-1: {models: [b], prompt_versions: [2]}
derived_metrics:
  - {name: f1, expression: "2 * p * r / (p + r)"}
""".replace("case-1", plain.cases[0].id),  # type: ignore[attr-defined]
    )
    case_id = plain.cases[0].id  # type: ignore[attr-defined]
    rule = suite.case_filters[case_id]  # type: ignore[attr-defined]
    assert rule.admits("b", 2) and not rule.admits("a", 2) and not rule.admits("b", 1)
    assert rule.admits(None, 2)  # a model the suite does not label (--model SPEC)
    assert suite.derived_metrics[0].expression == "2 * p * r / (p + r)"  # type: ignore[attr-defined]
    assert suite.hash == plain.hash  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("case_filters:\n  nope: {prompt_versions: [1]}\n", "has no case 'nope'"),
        ("case_filters: [1]\n", "must map case ids"),
        ("derived_metrics:\n  - {name: x, expression: \"__import__('os')\"}\n", "Call is not"),
        ('derived_metrics:\n  - {name: x, expression: "a.b"}\n', "Attribute is not"),
        ("derived_metrics:\n  - {name: x}\n", "must be {name: TEXT, expression: TEXT}"),
    ],
)
def test_bad_case_filters_and_derived_metrics_name_the_line(
    tmp_path: Path, tail: str, message: str
) -> None:
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, tail)
    assert message in str(caught.value)
    # the line of the entry (the tail starts at line 9 of the file)
    assert re.search(re.escape(str(tmp_path / "suite.yaml")) + r":(9|10): ", str(caught.value))


def test_a_models_own_prompt_versions_load_and_are_checked(tmp_path: Path) -> None:
    suite = _load(
        tmp_path,
        """\
models:
  - {label: a, spec: "openai:a", prompt_versions: [2]}
  - label: b
    model: "openai:b"
    prompt_versions: [1, 2]
  - openai:c
""",
    )
    models = suite.models  # type: ignore[attr-defined]
    assert [m.prompt_versions for m in models] == [[2], [1, 2], None]
    assert models[0].model.spec == "openai:a"
    jsonschema.validate(
        {"id": "x", "prompt": "p", "cases": [{"vars": {}}],
         "models": [{"label": "a", "spec": "openai:a", "prompt_versions": [1]}]},
        suite_json_schema(),
    )  # fmt: skip
    for bad in ("[3]", "[]", "two", "[true]"):
        with pytest.raises(SuiteError) as caught:
            _load(
                tmp_path, f'models:\n  - {{label: a, spec: "openai:a", prompt_versions: {bad}}}\n'
            )
        assert "suite.yaml:10" in str(caught.value) and "prompt_versions" in str(caught.value)
