"""Inspect logs (.eval archives and .json logs, built by hand from Inspect's documented
log format) recorded as runs, and paired with a native run of the imported dataset."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evalbook.errors import SuiteError
from evalbook.importers import ImportOptions, import_file
from evalbook.importers.runs import import_runs
from evalbook.storage.store import Store

from .helpers import FIXTURES, evalbook, run_json

DATASET = FIXTURES / "inspect" / "qa.jsonl"
ANSWERS = {"q1": ("Paris", "C"), "q2": ("4", "C"), "q3": ("Venus", "I"), "q4": ("Blue", "C")}


def _header() -> dict[str, Any]:
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "run_id": "Xq9", "task": "qa_task", "task_id": "T1", "task_version": 0,
            "created": "2026-11-29T08:00:00+00:00", "model": "openai/gpt-4o-mini",
            "dataset": {"name": "qa", "location": "qa.jsonl", "samples": 5},
            "packages": {"inspect_ai": "0.3.140"},
        },
        "plan": {"steps": [{"solver": "generate"}]},
        "results": {"total_samples": 5, "completed_samples": 5, "scores": []},
        "stats": {"started_at": "2026-11-29T08:00:00+00:00"},
    }  # fmt: skip


def _samples() -> list[dict[str, Any]]:
    samples = []
    for sid, (answer, verdict) in ANSWERS.items():
        samples.append(
            {
                "id": sid, "epoch": 1, "input": f"question {sid}", "target": "x",
                "output": {
                    "model": "gpt-4o-mini",
                    "choices": [{"message": {"role": "assistant", "content": answer}}],
                    "usage": {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
                },
                "scores": {"match": {"value": verdict, "answer": answer, "explanation": answer}},
                "total_time": 0.5,
            }
        )  # fmt: skip
    samples.append(
        {
            "id": "q5", "epoch": 1, "input": "question q5", "target": "Paris",
            "error": {"message": "RateLimitError: too many requests", "traceback": "..."},
        }
    )  # fmt: skip
    return samples


def _eval_archive(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("_journal/start.json", json.dumps({"version": 2}))
        archive.writestr("header.json", json.dumps(_header()))
        for sample in _samples():
            archive.writestr(f"samples/{sample['id']}_epoch_1.json", json.dumps(sample))
        archive.writestr("summaries.json", "[]")
    return path


def test_an_eval_archive_becomes_an_imported_run(tmp_path: Path, store: Store) -> None:
    (run,) = import_runs(store, "inspect", _eval_archive(tmp_path / "log.eval"))
    assert run.suite_id == "qa" and run.status.value == "completed"
    assert {"imported", "imported:inspect"} <= set(run.tags)
    assert run.description == f"imported from inspect 0.3.140 ({tmp_path / 'log.eval'})"
    assert run.model["provider"] == "openai" and run.model["name"] == "gpt-4o-mini"
    assert (run.counts.passed, run.counts.failed, run.counts.errored) == (3, 1, 1)
    assert run.metrics["imported"]["task"] == "qa_task"
    results = {r.case_id: r for r in store.iter_results(run.id)}
    assert results["q1"].output == "Paris" and results["q1"].latency_ms == 500
    assert results["q1"].input_tokens == 12 and results["q1"].output_tokens == 3
    (score,) = results["q3"].scores
    assert (score.name, score.score, score.passed, score.label) == ("match", 0.0, False, "Venus")
    assert results["q5"].status.value == "error"
    assert results["q5"].error_message == "RateLimitError: too many requests"


def test_a_json_log_pairs_with_a_native_run(tmp_path: Path, db_url: str, server: Any) -> None:
    log = tmp_path / "log.json"
    log.write_text(json.dumps({**_header(), "samples": _samples()}))
    proc = evalbook("import-run", "inspect", str(log), "--json")
    (imported,) = json.loads(proc.stdout)
    suite = tmp_path / "qa.yaml"
    model = f"openai-compatible:test-model@{server.base_url}"
    suite.write_text(import_file("inspect", DATASET, ImportOptions(model=model)).to_yaml())
    native = run_json(str(suite))
    assert native["suite_id"] == imported["suite_id"] == "qa"
    proc = evalbook("compare", imported["id"], native["id"], "--json", check=None)
    comparison = json.loads(proc.stdout)[0]
    assert comparison["paired"] == 5
    assert comparison["only_in_baseline"] == comparison["only_in_candidate"] == []


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("log.eval", b"PK\x03\x04 truncated", "not a readable .eval archive"),
        ("log.json", b'{"version": 2, "eval": {"task": "t"', "invalid JSON"),
        ("log.json", b'{"version": 2}', "no `eval` header"),
        (
            "log.json",
            json.dumps({**_header(), "samples": [{"id": "a", "scores": {"m": {"value": "Z"}}}]})
            .encode(),
            "value 'Z' is not C/I/P/N",
        ),
    ],
)  # fmt: skip
def test_a_corrupt_log_is_refused_and_records_nothing(
    tmp_path: Path, store: Store, name: str, content: bytes, needle: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SuiteError) as info:
        import_runs(store, "inspect", path)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert store.list_runs() == []
