"""Every bad input gives one clear SuiteError naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalbook.errors import SuiteError
from evalbook.suites import load_suite, load_suite_from_dict

BAD = Path(__file__).parents[1] / "fixtures" / "suites" / "bad"


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def load_error(name: str) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(BAD / name)
    return str(info.value)


def test_malformed_yaml_names_line_and_column() -> None:
    message = load_error("malformed.yaml")
    assert f"{BAD / 'malformed.yaml'}:6:1: invalid YAML" in message
    assert "started at line 5" in message


def test_top_level_must_be_a_mapping() -> None:
    assert "not_mapping.yaml:1: a suite must be a mapping" in load_error("not_mapping.yaml")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=r"empty\.yaml: the suite file is empty"):
        load_suite(tmp_path / "empty.yaml")


def test_missing_suite_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="cannot read suite file"):
        load_suite(tmp_path / "nope.yaml")


def test_unknown_top_level_field() -> None:
    message = load_error("unknown_top.yaml")
    line = line_of(BAD / "unknown_top.yaml", "scorrers")
    assert f"unknown_top.yaml:{line}: scorrers: unknown field" in message
    assert "did you mean 'scorers'" in message


def test_unknown_case_field_names_the_key_line() -> None:
    message = load_error("unknown_case_field.yaml")
    line = line_of(BAD / "unknown_case_field.yaml", "expcted")
    assert f"unknown_case_field.yaml:{line}: cases[3].expcted:" in message
    assert "Extra inputs are not permitted" in message


def test_wrong_types_are_all_listed() -> None:
    path = BAD / "wrong_type.yaml"
    message = load_error("wrong_type.yaml")
    assert message.startswith(f"{path}: 3 problems:")
    assert f"wrong_type.yaml:{line_of(path, 'threshold')}: threshold: Input should be" in message
    tags_line = line_of(path, "tags")
    assert f"wrong_type.yaml:{tags_line}: cases[0].tags: Input should be a valid list" in message
    assert f"wrong_type.yaml:{line_of(path, 'robot')}: cases[0].messages[0].role:" in message


def test_unknown_scorer_says_did_you_mean_and_names_the_case() -> None:
    message = load_error("unknown_scorer.yaml")
    line = line_of(BAD / "unknown_scorer.yaml", "contans")
    assert f"unknown_scorer.yaml:{line}: cases[1].scorers[0]: case 'typo-case':" in message
    assert "unknown scorer 'contans'. Did you mean 'contains'" in message


def test_bad_regex() -> None:
    message = load_error("bad_regex.yaml")
    line = line_of(BAD / "bad_regex.yaml", "regex:")
    assert f"bad_regex.yaml:{line}: scorers[1]: scorer 'regex':" in message
    assert "([a-z" in message


def test_malformed_model_spec() -> None:
    message = load_error("bad_model.yaml")
    assert "bad_model.yaml:2: model: model spec 'gpt-4o-mini' must look like" in message


def test_unknown_provider_is_left_to_the_executor() -> None:
    suite = load_suite(BAD / "unknown_provider.yaml")
    assert suite.model is not None
    assert suite.model.provider == "no-such-provider"


def test_model_mapping_errors_name_the_field() -> None:
    data = {
        "id": "x",
        "prompt": "hi",
        "model": {"spec": "openai:gpt-4o", "max_tokens": 0, "temprature": 1},
        "cases": [{"id": "a"}],
    }
    with pytest.raises(SuiteError) as info:
        load_suite_from_dict(data, source="api")
    message = str(info.value)
    assert "api: model.max_tokens: Input should be greater than or equal to 1" in message
    assert "api: model.temprature: unknown field" in message


def test_missing_dataset_names_the_suite_line_and_os_error() -> None:
    message = load_error("missing_dataset.yaml")
    line = line_of(BAD / "missing_dataset.yaml", "nowhere.jsonl")
    assert f"missing_dataset.yaml:{line}: cases[1].file: cannot read dataset" in message
    assert "No such file or directory" in message


def test_malformed_jsonl_line_names_the_dataset_file_and_line() -> None:
    message = load_error("bad_jsonl.yaml")
    jsonl = BAD / "bad_lines.jsonl"
    assert f"{jsonl}:{line_of(jsonl, 'broken')}: invalid JSON" in message
    assert f"{jsonl}:{line_of(jsonl, 'expcted')}: expcted: unknown field" in message


def test_duplicate_case_ids_name_both_places() -> None:
    path = BAD / "duplicate_ids.yaml"
    message = load_error("duplicate_ids.yaml")
    first, second = line_of(path, "id: same"), line_of(path, "id: same", 2)
    assert f"duplicate_ids.yaml:{second}: cases[2]: duplicate case id 'same'" in message
    assert f"first used at {path}:{first}" in message


def test_duplicate_generated_ids_explain_themselves() -> None:
    message = load_error("duplicate_generated.yaml")
    assert "duplicate_generated.yaml:5: cases[1]: duplicate case id 'c-" in message
    assert "generated from identical" in message


def test_missing_image() -> None:
    message = load_error("missing_image.yaml")
    line = line_of(BAD / "missing_image.yaml", "nope.png")
    assert f"missing_image.yaml:{line}: cases[0].assets[0]: cannot read image" in message


def test_bad_inline_image_data_and_type() -> None:
    data = {
        "id": "x",
        "prompt": "hi",
        "cases": [
            {"id": "a", "assets": [{"data": "!!notbase64", "media_type": "image/png"}]},
            {"id": "b", "assets": [{"data": "aGk=", "media_type": "image/tiff"}]},
        ],
    }
    with pytest.raises(SuiteError) as info:
        load_suite_from_dict(data)
    assert "cases[0].assets[0]: asset data is not valid base64" in str(info.value)
    assert "cases[1].assets[0]: unsupported image media_type 'image/tiff'" in str(info.value)


def test_unknown_image_extension(tmp_path: Path) -> None:
    (tmp_path / "pic.bmp").write_bytes(b"BM")
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: hi\ncases:\n  - id: a\n    assets: [{path: pic.bmp}]\n", encoding="utf-8"
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:5: cases\[0\]\.assets\[0\]: cannot tell"):
        load_suite(tmp_path / "s.yaml")


def test_case_lacking_expected_for_equals_names_the_case() -> None:
    message = load_error("equals_without_expected.yaml")
    line = line_of(BAD / "equals_without_expected.yaml", "id: lacks-expected")
    assert f"equals_without_expected.yaml:{line}: cases[1]:" in message
    assert "'lacks-expected'" in message
    assert "'has-expected'" not in message


def test_template_syntax_error_names_the_message_line() -> None:
    message = load_error("bad_template.yaml")
    line = line_of(BAD / "bad_template.yaml", "{{ question ")
    assert f"bad_template.yaml:{line}: prompt.messages[0].content: template syntax error" in message


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{{ q ", "unexpected end of template"),
        ("{% if q %}open", "Unexpected end of template"),
        ("a {# comment", "Missing end of comment tag"),
    ],
)
def test_a_case_message_with_a_syntax_error_names_the_case(content: str, error: str) -> None:
    data = {
        "id": "s",
        "prompt": "{{ q }}",
        "cases": [
            {"id": "fine", "vars": {"q": 1}, "messages": [{"role": "user", "content": "hi"}]},
            {"id": "bad", "vars": {"q": 1}, "messages": [{"role": "user", "content": content}]},
        ],
    }
    with pytest.raises(SuiteError, match=r"cases\[1\]\.messages\[0\]\.content: .*" + error):
        load_suite_from_dict(data, source="s.yaml")


def test_a_text_without_jinja_syntax_is_not_compiled_to_check_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Text holding no ``{{``, ``{%`` or ``{#`` is data to Jinja (it cannot be wrong):
    compiling each case's own messages took nine tenths of loading an imported eval."""
    from evalbook.suites import prompt_spec

    compiled: list[str] = []
    real = prompt_spec.compile_template
    monkeypatch.setattr(
        prompt_spec, "compile_template", lambda text: compiled.append(text) or real(text)
    )
    texts = ["plain", "}} %} #} { % # lone closers", "{{ '{{' }} sent as written", "{{ q }}"]
    data = {
        "id": "s",
        "prompt": "{{ q }}",
        "cases": [
            {"id": f"c{i}", "vars": {"q": 1}, "messages": [{"role": "user", "content": text}]}
            for i, text in enumerate(texts)
        ],
    }
    suite = load_suite_from_dict(data, source="s.yaml")
    assert [c.messages[0].content for c in suite.cases] == texts
    assert compiled == ["{{ q }}", "{{ '{{' }} sent as written", "{{ q }}"]


def test_duplicate_yaml_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: hi\ncases:\n  - id: a\n    expected: 1\n    expected: 2\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:6:5: .*duplicate key 'expected'.*line 5"):
        load_suite(tmp_path / "s.yaml")


def test_code_running_tags_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "id: !!python/object/apply:os.getcwd []\nprompt: hi\ncases: [{id: a}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:1:5: invalid YAML"):
        load_suite(tmp_path / "s.yaml")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": "Bad Id"}, "id: 'Bad Id' is not a suite id"),
        ({"id": None}, "a suite needs an id"),
        ({"threshold": 1.5}, "threshold: Input should be less than or equal to 1"),
        ({"version": True}, "version: Input should be a valid string"),
        ({"cases": []}, "cases: a suite needs at least one case"),
        ({"cases": "x"}, "cases: must be a list of cases"),
        ({"cases": ["x"]}, "cases[0]: a case must be a mapping"),
        ({"prompt": 3}, "prompt: must be a template string or a mapping"),
        ({"prompt": {"versions": {"one": "x"}}}, "prompt.versions.one: version 'one' is not"),
        ({"prompt": {"template": "a", "messages": []}}, "give either 'template' or 'messages'"),
        ({"prompt": {"versions": {1: "a"}, "system": "s"}}, "give either 'versions'"),
        ({"prompt": {"mesages": []}}, "prompt.mesages: unknown field"),
        ({"model": {"spec": "a:b", "provider": "c"}}, "give either 'spec' or 'provider'"),
        ({"model": {"provider": "openai", "name": "x", "api_key_env": "sk-123"}}, "NAME of"),
        ({"scorers": "non-empty"}, "scorers: must be a list of scorers"),
        ({"scorers": [{"a": 1, "b": 2}]}, "scorers[0]: scorer spec"),
        ({"render_assertions": ["nope"]}, "render_assertions[0]: unknown scorer 'nope'"),
        ({"scorers": [{"contains": "{{ x "}]}, "scorers[0]: scorer 'contains': value template"),
    ],
)
def test_dict_errors(changes: dict[str, object], expected: str) -> None:
    data: dict[str, object] = {"id": "x", "prompt": "hi", "cases": [{"id": "a"}]}
    data.update(changes)
    with pytest.raises(SuiteError) as info:
        load_suite_from_dict(data, source="api")
    assert expected in str(info.value)


def test_many_problems_are_listed_in_line_order(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "id: s\nprompt: hi\ncases:\n"
        + "".join(f"  - id: c{i}\n    bogus{i}: 1\n" for i in range(60)),
        encoding="utf-8",
    )
    with pytest.raises(SuiteError) as info:
        load_suite(tmp_path / "s.yaml")
    lines = str(info.value).splitlines()
    assert lines[0].endswith("s.yaml: 60 problems:")
    assert "s.yaml:5: cases[0].bogus0" in lines[1]
    assert "s.yaml:7: cases[1].bogus1" in lines[2]
    assert lines[-1] == "  ... and 10 more"
