"""A suite whose cases come from a dataset file (kept as canonical JSON, decoded as the
plan reads them) records exactly what the same cases written inline record, on SQLite
and PostgreSQL: the suite hash and definition, every result. Its shards and its resume
run from the recorded suite as any other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import evalbook
from evalbook.core.run import RunOptions, RunStatus
from evalbook.core.suite import CaseList
from evalbook.executor.launch import execute, load_for_resume, prepare_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite, load_suite_from_dict

from .helpers import expected_yes, server_model

N = 60


def _rows() -> list[dict[str, Any]]:
    return [
        {"id": f"case-{i:03d}", "i": i, "answer": "yes" if i % 3 == 0 else "no", "note": "é✓"}
        for i in range(N)
    ]


def _suites(folder: Path, base_url: str) -> tuple[Any, Any]:
    header = {
        "id": "streamed-run",
        "threshold": 0.5,
        "model": server_model(base_url),
        "prompt": "[[answer={{ answer }}]] question {{ i }} {{ note }}",
        "scorers": [{"equals": "yes"}],
    }
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    (folder / "suite.yaml").write_text(json.dumps({**header, "cases": [{"file": "cases.jsonl"}]}))
    streamed = load_suite(folder / "suite.yaml")
    cases = [{"id": r.pop("id"), "vars": r} for r in _rows()]  # the suite-file form
    inline = load_suite_from_dict({**header, "cases": cases})
    assert isinstance(streamed.cases, CaseList) and isinstance(inline.cases, CaseList)
    # A dataset's cases are decoded as they are read; inline ones are kept as written.
    assert streamed.cases[0] is not streamed.cases[0] and inline.cases[0] is inline.cases[0]
    return streamed, inline


def _record(store: Store, run_id: str) -> list[tuple[Any, ...]]:
    return sorted(
        (r.case_id, r.epoch, r.status, r.output, [(s.name, s.score, s.passed) for s in r.scores])
        for r in store.iter_results(run_id)
    )


async def test_a_streamed_suite_records_what_an_inline_one_does(
    store: Store, server: Any, tmp_path: Path
) -> None:
    streamed, inline = _suites(tmp_path, server.base_url)
    a = await evalbook.arun(streamed, store=store, concurrency=7, epochs=2, use_cache=False)
    b = await evalbook.arun(inline, store=store, concurrency=7, epochs=2, use_cache=False)
    assert a.suite_hash == b.suite_hash == inline.hash
    assert a.status is b.status is RunStatus.completed
    assert a.counts.total == 2 * N and a.counts.passed == 2 * expected_yes(N)
    assert _record(store, a.id) == _record(store, b.id)
    timing = {"latency_ms"}  # how long the test server took: not part of what is recorded
    assert a.score == b.score
    assert {k: v for k, v in a.metrics.items() if k not in timing} == {
        k: v for k, v in b.metrics.items() if k not in timing
    }
    recorded = store.get_suite(a.suite_hash)
    assert recorded.definition() == inline.definition() == streamed.definition()


async def test_a_streamed_suite_runs_in_shards_and_resumes(
    store: Store, server: Any, tmp_path: Path
) -> None:
    streamed, _ = _suites(tmp_path, server.base_url)
    job = prepare_run(store, streamed, options=RunOptions(concurrency=5))
    part = await execute(store, job, items=range(10, 25))
    assert part.stop_reason is None
    assert sorted(r.case_id for r in store.iter_results(job.run.id)) == [
        f"case-{i:03d}" for i in range(10, 25)
    ]
    resumed = await execute(store, load_for_resume(store, job.run.id))
    assert resumed.status is RunStatus.completed
    assert resumed.counts.total == N and resumed.counts.passed == expected_yes(N)
    seen = [r.case_id for r in store.iter_results(job.run.id)]
    assert sorted(seen) == [f"case-{i:03d}" for i in range(N)]
