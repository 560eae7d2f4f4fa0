"""promptfoo results recorded as evalbook runs: kept with outputs, scores, latency, tokens
and cost; paired case by case with a native run of the imported config; a corrupt file
records nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evalbook.core.identity import content_hash
from evalbook.errors import SuiteError
from evalbook.importers.runs import import_runs
from evalbook.storage.store import Store

from .helpers import FIXTURES, evalbook, run_json

RESULTS = FIXTURES / "promptfoo" / "results" / "results.json"
CONFIG = FIXTURES / "promptfoo" / "files" / "promptfooconfig.yaml"


def test_promptfoo_results_become_an_imported_run(store: Store) -> None:
    (run,) = import_runs(store, "promptfoo", RESULTS)
    assert run.status.value == "completed" and run.passed is False
    assert {"imported", "imported:promptfoo"} <= set(run.tags)
    assert run.description == f"imported from promptfoo 0.118.4 ({RESULTS})"
    assert run.metrics["imported"]["tool"] == "promptfoo"
    assert run.metrics["imported"]["eval_id"] == "eval-7Qx-2026-11-30T10:15:00"
    assert run.experiment_id == "eval-7Qx-2026-11-30T10:15:00"
    assert run.suite_id == "capital-cities-from-files"  # the config's, as `import` names it
    assert run.model["provider"] == "openai" and run.model["name"] == "gpt-4o-mini"
    assert (run.counts.passed, run.counts.failed, run.counts.errored) == (4, 2, 1)
    assert run.input_token_count == 90 and run.output_token_count == 30
    assert run.cost == pytest.approx(6 * 0.000012)
    assert run.run_date == "2026-11-30"
    results = {r.case_id: r for r in store.iter_results(run.id)}
    # named as a run names its results: ids in the file's order, as they are written
    in_order = [results[f"test-{i}"].id for i in range(1, 8)]
    assert in_order == sorted(in_order) and all(i[14] == "8" for i in in_order)
    # a scorer is named by its assertion and its place in the result, whichever result
    # carries it: the same assertion the same id, another value another id
    ids = {
        case: {s.name: s.scorer_id for s in results[case].scores} for case in ("test-1", "test-2")
    }
    assert (
        ids["test-1"]["not-icontains"]
        == ids["test-2"]["not-icontains"]
        == content_hash(
            "imported-scorer", ["promptfoo", 0, {"type": "not-icontains", "value": "error"}]
        )[:32]
    )
    assert (
        ids["test-1"]["equals"]
        != ids["test-2"]["equals"]
        == content_hash("imported-scorer", ["promptfoo", 1, {"type": "equals", "value": "4"}])[:32]
    )
    first = results["test-1"]
    assert first.output == "Paris" and first.latency_ms == 100
    assert first.prompt == "[[answer=Paris]] Question: What is the capital of France?"
    scores = {s.name: s for s in first.scores}
    assert sorted(scores) == ["equals", "levenshtein", "not-icontains"]  # evalbook's names
    assert all(s.passed for s in first.scores)
    assert scores["not-icontains"].type == "promptfoo:not-icontains"
    failed = results["test-2"]
    assert failed.status.value == "failed"
    verdict = {s.name: s for s in failed.scores}["equals"]
    assert verdict.passed is False
    assert verdict.evidence.rationale == "Expected output to satisfy equals: 4"
    errored = results["test-6"]
    assert errored.status.value == "error"
    assert errored.error_message == "API error: 500 Internal Server Error"
    assert "contains" in {s.name for s in results["test-4"].scores}  # contains-any, as mapped


def test_an_imported_run_compares_with_a_native_one_case_by_case(
    tmp_path: Path, db_url: str, server: Any
) -> None:
    proc = evalbook("import-run", "promptfoo", str(RESULTS), "--json")
    (imported,) = json.loads(proc.stdout)
    native = run_json(
        str(CONFIG), "--base-url", server.base_url, "--prompt-version", "1", "--model", "mini"
    )
    proc = evalbook("compare", imported["id"], native["id"], "--json", check=None)
    comparison = json.loads(proc.stdout)[0]
    assert comparison["paired"] == 7
    assert comparison["only_in_baseline"] == [] and comparison["only_in_candidate"] == []
    # the imported scores carry the names the native run's scorers have; only the case
    # that errored in the source (test-6, scored by icontains natively) has none
    only = [w for w in comparison["warnings"] if "is only in" in w]
    assert only == ["scorer 'icontains' is only in the candidate; not compared"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"results": {"results": [', "invalid JSON"),
        ('{"evalId": "x", "results": {"version": 3}}', "not a promptfoo results file"),
        ('{"results": {"results": [{"promptIdx": 0, "provider": "echo"}]}}', "needs testIdx"),
        (
            '{"results": {"results": [{"testIdx": 0, "provider": {"id": "echo"},'
            ' "gradingResult": {"componentResults": [3]}}]}}',
            "componentResults[0] is not an object",
        ),
    ],
)
def test_a_corrupt_results_file_records_nothing(
    tmp_path: Path, store: Store, content: str, needle: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(SuiteError, match=re.escape(needle)) as info:
        import_runs(store, "promptfoo", path)
    assert str(path) in str(info.value)
    assert store.list_runs() == []
    proc = evalbook("import-run", "promptfoo", str(path), check=1)
    assert needle in proc.stderr
    assert store.list_runs() == []
