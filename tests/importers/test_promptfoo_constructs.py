"""promptfoo constructs the issue names that the larger fixtures do not use: a chat prompt
in a YAML file, a tests file given without a glob, ``icontains-any`` (mapped, and run
offline with echo for promptfoo's verdicts) and ``is-valid-openai-function-call`` (not
mapped: reported at its line, kept as a scorer that errors, never a silent pass)."""

from __future__ import annotations

from pathlib import Path

from evalbook.importers import import_file

from .helpers import run_json, statuses


def _config(tmp_path: Path) -> Path:
    (tmp_path / "chat.yaml").write_text(
        "- role: system\n  content: You repeat the word.\n"
        "- role: user\n  content: 'Word: {{word}}'\n"
    )
    (tmp_path / "tests.yaml").write_text(
        "- vars: {word: HELLO}\n"
        "  assert:\n"
        "    - type: icontains-any\n"
        "      value: [hello, goodbye]\n"
        "- vars: {word: Bonjour}\n"
        "  assert:\n"
        "    - type: icontains-any\n"
        "      value: [hello, goodbye]\n"
        "- vars: {word: call}\n"
        "  assert:\n"
        "    - type: is-valid-openai-function-call\n"
    )
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts:\n"
        "  - 'Say {{word}}'\n"
        "  - file://chat.yaml\n"
        "providers: [echo]\n"
        "tests: file://tests.yaml\n"
    )
    return path


def test_chat_yaml_prompt_tests_file_and_case_insensitive_any(tmp_path: Path) -> None:
    path = _config(tmp_path)
    imported = import_file("promptfoo", path)
    assert imported.report.summary() == "2 of 3 assertions mapped"
    (note,) = imported.report.unmapped
    assert (note.file, note.line, note.feature) == (
        str(tmp_path / "tests.yaml"), 11, "is-valid-openai-function-call"
    )  # fmt: skip
    assert "function calls" in note.message
    versions = imported.data["prompt"]["versions"]
    assert versions[2] == {
        "system": "You repeat the word.",
        "messages": [{"role": "user", "content": "Word: {{word}}"}],
    }
    assert imported.data["prompt_versions"] == [1, 2]
    first, _, third = imported.data["cases"]
    assert first["scorers"] == [
        {"type": "contains", "value": ["hello", "goodbye"], "mode": "any", "case_sensitive": False}
    ]
    assert third["scorers"][0]["type"] == "unsupported"
    # echo answers with the prompt: "Say HELLO" contains hello (any case), "Say Bonjour"
    # contains neither word, and the check evalbook cannot make errors
    record = run_json(str(path), "--prompt-version", "1")
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "failed", "test-3": "error"}
