"""promptfoo configs shaped after public ones (fixtures/importers/promptfoo/public: each
keeps the constructs a public config wrote, with its texts rewritten and the files it
names rebuilt): red-team blocks, YAML anchors under ``x-`` keys, bare prompt and test
paths, a config without prompts, hosted OpenAI-compatible providers, providers that run
code or call an arbitrary HTTP API, transforms such as ``output.answer`` and
``output.toLowerCase()``, one-line javascript scores. Each imports with the mapped share
it reports, and runs: echo offline, the others against the local test server (those
whose provider has no evalbook equivalent with ``--model``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evalbook.errors import SuiteError
from evalbook.importers import import_file

from .helpers import FIXTURES, run_json, statuses

PUBLIC = FIXTURES / "promptfoo" / "public"


def _config(name: str) -> Path:
    return PUBLIC / name / "promptfooconfig.yaml"


@pytest.mark.parametrize(
    ("name", "summary", "cases"),
    [
        ("echo_smoke", "2 of 2 assertions mapped", 2),
        ("tweet_matrix", "5 of 7 assertions mapped", 3),
        ("tutor_redteam", "2 cases imported; 2 other constructs not mapped", 2),
        ("agent_sdk", "1 of 2 assertions mapped; 1 other construct not mapped", 2),
        ("lmstudio_redteam", "1 case imported; 3 other constructs not mapped", 1),
        ("groq_extract", "3 of 3 assertions mapped", 1),
        ("http_no_prompts", "2 of 2 assertions mapped; 2 other constructs not mapped", 2),
        ("medical_fr", "3 of 3 assertions mapped", 2),
        ("rag_pinned_judge", "4 of 4 assertions mapped", 1),
        ("nested_vars", "2 cases imported", 2),
        ("openrouter_csv", "2 of 2 assertions mapped", 2),
        ("custom_provider", "3 of 3 assertions mapped; 1 other construct not mapped", 2),
        ("http_judge", "4 of 5 assertions mapped; 1 other construct not mapped", 2),
        ("anchors_ollama", "2 of 4 assertions mapped; 1 other construct not mapped", 2),
        ("redteam_only", "1 case imported; 2 other constructs not mapped", 1),
        ("json_fields", "3 of 4 assertions mapped", 2),
        ("http_refusal_js", "0 of 3 assertions mapped; 1 other construct not mapped", 3),
        ("agent_tests_list", "3 of 3 assertions mapped; 2 other constructs not mapped", 2),
        ("baseline_guardrails", "9 of 9 assertions mapped", 4),
        ("echo_multilingual", "6 of 6 assertions mapped", 3),
        ("folder_tests", "4 of 4 assertions mapped", 2),
        ("folded_prompts_csv", "2 of 2 assertions mapped; 1 other construct not mapped", 2),
        ("geval_list", "0 of 1 assertions mapped", 1),
        ("regex_lookahead", "3 of 3 assertions mapped", 3),
    ],
)
def test_each_imports_with_its_mapped_share(name: str, summary: str, cases: int) -> None:
    imported = import_file("promptfoo", _config(name))
    assert imported.report.summary() == summary
    assert len(imported.load().cases) == cases


def _notes(name: str) -> dict[tuple[str, int | None], tuple[bool, str]]:
    report = import_file("promptfoo", _config(name)).report
    return {(n.feature, n.line): (n.mapped, n.message) for n in report.notes}


def test_a_config_without_prompts_takes_each_tests_prompt_var() -> None:
    imported = import_file("promptfoo", _config("http_no_prompts"))
    assert imported.data["prompt"] == "{{prompt}}"
    notes = _notes("http_no_prompts")
    assert notes[("prompts", None)][0] is True
    assert notes[("version", 3)] == (False, "unknown promptfoo field, not imported")
    assert "has no evalbook equivalent" in notes[("provider http", 7)][1]


def test_a_bare_prompt_path_is_read_as_its_file() -> None:
    imported = import_file("promptfoo", _config("tutor_redteam"))
    assert imported.data["prompt"].startswith("You are a patient programming tutor.")
    notes = _notes("tutor_redteam")
    assert notes[("redteam", 21)][0] is False and notes[("assert", 11)][0] is False


def test_hosted_openai_compatible_providers_keep_their_url_and_key_variable() -> None:
    groq = import_file("promptfoo", _config("groq_extract")).data["model"]
    assert groq == {
        "provider": "openai-compatible",
        "name": "llama-3.1-8b-instant",
        "base_url": "https://api.groq.com/openai/v1",
        "api_key_env": "GROQ_API_KEY",
    }
    router = import_file("promptfoo", _config("openrouter_csv")).data["model"]
    # the literal apiKey and the stream switch are transport: never in the model config
    assert router == {
        "provider": "openai-compatible",
        "name": "google/gemini-2.5-flash-lite",
        "base_url": "https://openrouter.ai/api/v1",
        "api_key_env": "OPENROUTER_API_KEY",
    }


def test_a_red_team_config_without_tests_is_recognised_and_imports() -> None:
    from evalbook.importers import detect_format

    path = _config("redteam_only")
    assert detect_format(path) == "promptfoo"
    imported = import_file("promptfoo", path)
    assert imported.data["prompt"] == "{{prompt}}"
    assert imported.data["cases"] == [{"id": "test-1", "vars": {"prompt": ""}}]
    notes = _notes("redteam_only")
    assert notes[("redteam", 9)][0] is False
    assert "has no evalbook equivalent" in notes[("provider file://./target/chat.py", 7)][1]


def test_gemini_maps_to_its_openai_compatible_endpoint() -> None:
    gemini = import_file("promptfoo", _config("json_fields")).data["models"][0]
    assert gemini == {
        "label": "google:gemini-2.5-flash",
        "provider": "openai-compatible",
        "name": "gemini-2.5-flash",
        "base_url": "https://generativelanguage.googleapis.com/v1beta/openai",
        "api_key_env": "GOOGLE_API_KEY",
    }


def test_yaml_anchor_keys_are_noted_and_what_uses_them_is_imported() -> None:
    imported = import_file("promptfoo", _config("anchors_ollama"))
    notes = _notes("anchors_ollama")
    assert notes[("x-model-config", 6)][0] is True and notes[("x-checks", 20)][0] is True
    gemma = imported.data["models"][0]
    assert (gemma["provider"], gemma["name"], gemma["temperature"]) == ("ollama", "gemma3:12b", 0.2)
    assert [s["type"] for s in imported.data["cases"][0]["scorers"]] == ["is-json", "unsupported"]
    assert "file://assertions/analysis.js" in str(imported.data["cases"][0]["scorers"][1])


def test_transforms_become_extractors_and_latency_ignores_them() -> None:
    judged = import_file("promptfoo", _config("http_judge")).data
    latency = judged["scorers"][0]
    assert latency["type"] == "latency" and "extract" not in latency
    first = judged["cases"][0]["scorers"][0]
    assert first["extract"] == [{"json-path": "$.answer"}]
    lowered = import_file("promptfoo", _config("nested_vars")).data["cases"][1]
    assert lowered["id"] == "test-2" and "scorers" not in lowered  # a transform, no checks


def test_a_pass_fail_ternary_is_a_length_bound_and_a_partial_score_stays_code() -> None:
    imported = import_file("promptfoo", _config("tweet_matrix"))
    assert imported.data["scorers"][1] == {
        "type": "length", "unit": "chars", "max": 280
    }  # fmt: skip
    notes = _notes("tweet_matrix")
    assert notes[("javascript", 37)][0] is False  # `? 1 : 0.5`: a score, not a verdict
    assert notes[("javascript", 45)][0] is False


_SERVED = ["--base-url"]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        # equals is exact: the second test lacks the full stop the echo has
        ("echo_smoke", [], {"": {"test-1": "passed", "test-2": "failed"}}),
        # the answer is the prompt: no "EUR 950" in it
        ("groq_extract", _SERVED, {"": {"test-1": "failed"}}),
        ("tutor_redteam", _SERVED, {"": {"test-1": "passed", "test-2": "passed"}}),
        ("openrouter_csv", _SERVED, {"": {"test-1": "failed", "test-2": "failed"}}),
        # test-2 gives no reader: `reader.name` renders empty, as in promptfoo, but
        # `reader.interests | join` has nothing to join (nunjucks throws too): an error
        (
            "nested_vars",
            _SERVED,
            {
                "openai:gpt-4.1-mini · v1": {"test-1": "passed", "test-2": "error"},
                "openai:gpt-4 · v1": {"test-1": "passed", "test-2": "error"},
            },
        ),
        (
            "http_no_prompts",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "passed", "test-2": "failed"}},
        ),
        (
            "custom_provider",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "passed", "test-2": "failed"}},
        ),
        # the answer is not JSON, so `output.answer` finds nothing: a fail; the
        # context-faithfulness check was not imported: an error, never a pass
        (
            "http_judge",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "error", "test-2": "failed"}},
        ),
        (
            "agent_sdk",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "error", "test-2": "error"}},
        ),
        # a red-team config with no tests of its own: one case, its prompt var empty
        # (promptfoo renders a missing var as empty), so the answer is empty: a fail
        (
            "redteam_only",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "failed"}},
        ),
        # the echo of test-1 is its JSON; test-2's `||` check stays code: an error
        (
            "json_fields",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "passed", "test-2": "error"}},
        ),
        (
            "echo_multilingual",
            [],
            {"": {"test-1": "passed", "test-2": "passed", "test-3": "passed"}},
        ),
        # tests: file://tests/llm/ (a folder: its test files), defaultTest from a file,
        # $ref templates; the echo names "house", not "forest"
        ("folder_tests", [], {"": {"test-1": "passed", "test-2": "failed"}}),
        # folded (>) prompts, one of which nunjucks cannot parse either: left out with a
        # note, the other two run with both models; the CSV's __expected checks pass
        (
            "folded_prompts_csv",
            _SERVED,
            {
                "openai:gpt-4o · v1": {"test-1": "passed", "test-2": "passed"},
                "openai:gpt-4o · v2": {"test-1": "passed", "test-2": "passed"},
                "openai:gpt-4o-mini · v1": {"test-1": "passed", "test-2": "passed"},
                "openai:gpt-4o-mini · v2": {"test-1": "passed", "test-2": "passed"},
            },
        ),
        # g-eval is not mapped: the case errors, never a pass
        ("geval_list", _SERVED, {"": {"test-1": "error"}}),
        # a bare prompt path, regexes with lookaheads (Python reads them as JavaScript
        # does): the served answer is the prompt, and only test-3's holds the labels
        (
            "regex_lookahead",
            _SERVED,
            {"": {"test-1": "failed", "test-2": "failed", "test-3": "passed"}},
        ),
        # every check is multi-statement javascript: kept as code, each case an error
        (
            "http_refusal_js",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "error", "test-2": "error", "test-3": "error"}},
        ),
        # the judge's reply (the test server's echo) holds no verdict: an error, not a
        # pass; the answer names no run.sh: a fail
        (
            "agent_tests_list",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "error", "test-2": "failed"}},
        ),
        # defaultTest's cost ceiling needs a cost: the served model has no price, so
        # every case errors (promptfoo's cost assertion cannot check it either)
        (
            "baseline_guardrails",
            [*_SERVED, "--model", "openai:gpt-4o-mini"],
            {"": {"test-1": "error", "test-2": "error", "test-3": "error", "test-4": "error"}},
        ),
    ],
)
def test_each_runs_with_the_verdicts_promptfoo_semantics_give(
    server: Any, name: str, args: list[str], expected: dict[str, dict[str, str]]
) -> None:
    given = list(args)
    if given[:1] == ["--base-url"]:
        given.insert(1, server.base_url)
    record = run_json(str(_config(name)), "--no-cache", *given)
    runs = record.get("runs") or [record]
    got = {r.get("label") or "": statuses(r["id"]) for r in runs}
    assert got == expected
    assert all(r["status"] == "completed" for r in runs)


def test_the_matrix_of_three_prompts_and_two_models_runs(server: Any) -> None:
    record = run_json(str(_config("tweet_matrix")), "--no-cache", "--base-url", server.base_url)
    got = {r["label"]: statuses(r["id"]) for r in record["runs"]}
    assert len(got) == 6
    # the kept javascript errors its case (never a silent pass); the first test passes
    assert set(map(str, got.values())) == {
        str({"test-1": "passed", "test-2": "error", "test-3": "error"})
    }


def test_field_equality_javascript_reads_the_answers_json_and_runs(tmp_path: Path) -> None:
    """``JSON.parse(output).a === 'x'`` and ``output.a === 'x'`` (promptfoo's output is
    an object when the provider answers JSON) are ``equals`` on a JSON path."""
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        'prompts: [\'{"category": "{{c}}", "human": true, "n": 8}\']\n'
        "providers: [echo]\n"
        "tests:\n"
        "  - vars: {c: billing}\n"
        "    assert:\n"
        "      - type: javascript\n"
        "        value: JSON.parse(output).category === 'billing'\n"
        "      - type: javascript\n"
        "        value: output.human === true\n"
        "      - type: javascript\n"
        "        value: output.n == 8\n"
        "      - type: javascript\n"
        "        value: output.category !== 'bug'\n"
        "  - vars: {c: bug}\n"
        "    assert:\n"
        "      - type: javascript\n"
        '        value: "JSON.parse(output).category === \\"billing\\""\n'
    )
    imported = import_file("promptfoo", path)
    assert imported.report.summary() == "5 of 5 assertions mapped"
    first = imported.data["cases"][0]["scorers"]
    assert first[0] == {
        "type": "equals", "value": "billing", "strip": False,
        "extract": [{"json-path": "$.category"}],
    }  # fmt: skip
    assert first[3]["type"] == "not-equals"
    record = run_json(str(path), "--no-cache")
    assert statuses(record["id"]) == {"test-1": "passed", "test-2": "failed"}


def test_is_json_with_a_false_value_checks_json_only(tmp_path: Path) -> None:
    """promptfoo reads ``value: false`` on ``is-json`` as no schema (a real config wrote
    it); as a JSON schema, ``false`` would fail every answer."""
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['{{m}}']\nproviders: [echo]\ntests:\n"
        "  - vars: {m: '{\"a\": 1}'}\n    assert:\n      - type: is-json\n        value: false\n"
    )
    assert import_file("promptfoo", path).data["cases"][0]["scorers"] == [{"type": "is-json"}]
    assert statuses(run_json(str(path), "--no-cache")["id"]) == {"test-1": "passed"}


def test_hugging_face_chat_is_its_routers_openai_compatible_api() -> None:
    from evalbook.importers._model import ImportOptions
    from evalbook.importers.promptfoo._providers import map_provider

    routed = map_provider("huggingface:chat:google/gemma-3-27b-it:novita", ImportOptions())
    assert routed.model == {
        "provider": "openai-compatible",
        "name": "google/gemma-3-27b-it:novita",
        "base_url": "https://router.huggingface.co/v1",
        "api_key_env": "HF_API_TOKEN",
    }
    # text-generation is the Inference API's own shape: evalbook's huggingface provider
    assert map_provider("huggingface:text-generation:gpt2", ImportOptions()).model == {
        "provider": "huggingface",
        "name": "gpt2",
    }


def test_a_test_that_runs_nowhere_is_not_in_the_mapped_share(tmp_path: Path) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Hi {{n}}']\nproviders: [echo]\ntests:\n"
        "  - vars: {n: [a, b]}\n    providers: ['openai:*']\n    assert:\n"
        "      - type: contains\n        value: Hi\n"
        "      - type: javascript\n        value: 'output.split(1)'\n"
        "  - vars: {n: c}\n    assert:\n      - type: contains\n        value: c\n"
    )
    report = import_file("promptfoo", path).report
    # the first test (two cases, two assertions, one unmapped) runs with no provider here
    assert report.summary() == "1 of 1 assertions mapped"
    assert [n.feature for n in report.unmapped] == []
    assert any("runs with none" in n.message for n in report.notes)


def test_a_providers_own_prompts_choose_its_prompt_versions(tmp_path: Path) -> None:
    """promptfoo's providerPromptMap: a provider's ``prompts:`` (labels or ids) are the
    prompt versions its model runs; one that selects none of them runs nothing."""
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts:\n"
        "  - {id: 'Hi {{n}}', label: short}\n"
        "  - {id: 'Hello there {{n}}', label: long}\n"
        "providers:\n"
        "  - {id: echo, label: loud, prompts: [short]}\n"
        "  - echo:\n      label: quiet\n      prompts: [long]\n"
        "  - {id: echo, label: nobody, prompts: [missing]}\n"
        "  - {id: echo, label: every}\n"
        "tests:\n  - vars: {n: Ada}\n    assert: [{type: contains, value: Ada}]\n"
    )
    imported = import_file("promptfoo", path)
    models = {m["label"]: m.get("prompt_versions") for m in imported.data["models"]}
    assert models == {"loud": [1], "quiet": [2], "every": None}
    notes = {(n.feature, n.line, n.mapped) for n in imported.report.notes}
    assert ("provider echo: prompts", 5, True) in notes
    assert ("provider echo: prompts", 9, False) in notes  # selects none: left out
    suite = imported.load()
    assert [(m.label, m.prompt_versions) for m in suite.models][:2] == [
        ("loud", [1]),
        ("quiet", [2]),
    ]
    record = run_json(str(path), "--no-cache")
    ran = sorted(r["label"] for r in record["runs"])
    assert ran == ["every · v1", "every · v2", "loud · v1", "quiet · v2"]
    # the flags choose the versions: then every model runs them
    record = run_json(str(path), "--no-cache", "--prompt-version", "2", "--model", "loud")
    assert (record.get("runs") or [record])[0]["prompt_version"] == 2


def test_a_tests_own_provider_that_the_config_has_runs_the_case_with_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text(
        "prompts: ['Hi {{n}}']\n"
        "providers:\n  - {id: echo, label: loud}\n  - {id: echo, label: quiet}\n"
        "tests:\n"
        "  - vars: {n: a}\n    provider: quiet\n"
        "  - vars: {n: b}\n    provider: {id: 'openai:gpt-4o'}\n"
        "  - vars: {n: c}\n"
    )
    imported = import_file("promptfoo", path)
    assert imported.data["case_filters"] == {"test-1": {"models": ["quiet"]}}
    notes = {(n.feature, n.line): n for n in imported.report.notes}
    assert notes[("tests.provider", 7)].mapped is True
    # a provider the config does not have: reported, the case runs with every model
    assert notes[("tests.provider", 9)].mapped is False
    got = {r["label"]: statuses(r["id"]) for r in run_json(str(path), "--no-cache")["runs"]}
    assert got == {
        "loud · v1": {"test-2": "passed", "test-3": "passed"},
        "quiet · v1": {"test-1": "passed", "test-2": "passed", "test-3": "passed"},
    }


def test_a_tests_folder_without_test_files_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "notes.txt").write_text("not a test file\n")
    path = tmp_path / "promptfooconfig.yaml"
    path.write_text("prompts: [hi]\nproviders: [echo]\ntests:\n  - file://cases/\n")
    with pytest.raises(SuiteError, match="'file://cases/' is a folder with no test file") as err:
        import_file("promptfoo", path)
    assert err.value.location == f"{path}:4"
