"""``evalbook run`` of a suite with a JSONL dataset asks its first cases while the rest of
the dataset is still read (``executor/streamed.py``). What it records is what a run of
the loaded suite records; a bad row or a duplicate id found late fails it naming the
file and line, with nothing recorded as a run and the answers kept in the cache; the
run's id comes before its first result; an interrupted run resumes with only what is
missing."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import yaml

import evalbook
from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.streamed import StreamedSuite, early_limit
from evalbook.storage.store import Store
from evalbook.suites import load_suite

from .test_cli import evalbook_cmd, only_run_id, start_run_until


def dataset_suite(folder: Path, base_url: str, n: int, *, last: str | None = None) -> Path:
    """A suite whose ``n`` cases are a JSONL dataset (``last``: one more line at its end)."""
    rows = [
        json.dumps({"id": f"c{i}", "i": i, "answer": "yes" if i % 3 else "no", "note": "é✓"})
        for i in range(n)
    ]
    (folder / "cases.jsonl").write_text("\n".join([*rows, *([last] if last else [])]) + "\n")
    suite = {
        "id": "streamed-cli",
        "threshold": 0.2,
        "model": {
            "provider": "openai-compatible",
            "name": "test-model",
            "base_url": base_url,
            "temperature": 0,
        },
        "prompt": "[[answer={{ answer }}]] q{{ i }} {{ note }}",
        "scorers": [{"equals": "yes"}],
        "cases": [{"file": "cases.jsonl"}],
    }
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False, allow_unicode=True))
    return path


def record_of(store: Store, run_id: str) -> list[tuple[Any, ...]]:
    return sorted(
        (r.case_id, r.epoch, r.status, r.output, r.prompt, r.input, [
            (s.name, s.score, s.passed) for s in r.scores
        ])
        for r in store.iter_results(run_id)
    )  # fmt: skip


def test_the_loader_hands_over_the_first_cases_in_order(tmp_path: Path) -> None:
    path = dataset_suite(tmp_path, "http://127.0.0.1:9/v1", 500)
    source = StreamedSuite.start(path, limit=37)
    head = source.head()
    assert head is not None and len(head.cases) == 0 and head.model is not None

    async def handed() -> list[str]:
        return [c.id for batch in [b async for b in source.early_cases(10)] for c in batch]

    assert asyncio.run(handed()) == [f"c{i}" for i in range(37)]
    assert source.suite().hash == load_suite(path).hash
    assert early_limit(1) == 256 and early_limit(100) == 2000 and early_limit(10**6) == 10_000


def test_a_streamed_run_records_what_a_loaded_run_records(
    tmp_path: Path, db_url: str, server: Any
) -> None:
    n = 300
    path = dataset_suite(tmp_path, server.base_url, n)
    out = evalbook_cmd(
        "run", str(path), "-c", "7", "--epochs", "2", "--no-cache", "--json", check=0
    ).stdout
    streamed = RunRecord.model_validate_json(out)
    loaded = load_suite(path)
    store = Store.open(db_url)
    try:
        plain = evalbook.run(loaded, store=store, concurrency=7, epochs=2, use_cache=False)
        assert streamed.suite_hash == plain.suite_hash == loaded.hash
        assert streamed.status is plain.status is RunStatus.completed
        assert streamed.counts == plain.counts and streamed.counts.total == 2 * n
        assert streamed.score == plain.score and streamed.passed is plain.passed is True
        assert record_of(store, streamed.id) == record_of(store, plain.id)
        assert len(record_of(store, streamed.id)) == 2 * n
        assert store.get_suite(streamed.suite_hash).definition() == loaded.definition()
    finally:
        store.close()


def test_a_bad_row_at_the_end_fails_naming_its_line(
    tmp_path: Path, db_url: str, server: Any
) -> None:
    n = 6000
    path = dataset_suite(tmp_path, server.base_url, n, last='{"id": "late", "i": ')
    failed = evalbook_cmd("run", str(path), "-c", "50", "--json")
    assert failed.returncode not in (0, 100), failed.stdout  # never reported as success
    assert f"{tmp_path / 'cases.jsonl'}:{n + 1}" in failed.stderr
    assert "invalid JSON" in failed.stderr
    assert failed.stdout == ""
    asked = server.requests
    store = Store.open(db_url)
    try:
        assert store.list_runs() == []  # the suite never loaded: no run names it
    finally:
        store.close()
    # The answers asked before the row was read are in the cache: the corrected suite's
    # run asks only the others.
    (tmp_path / "cases.jsonl").write_text(
        "".join((tmp_path / "cases.jsonl").read_text().splitlines(keepends=True)[:n])
    )
    server.reset()
    fixed = RunRecord.model_validate_json(
        evalbook_cmd("run", str(path), "-c", "50", "--json", check=0).stdout
    )
    assert fixed.status is RunStatus.completed and fixed.counts.total == n
    assert fixed.counts.cached + server.requests == n
    assert fixed.counts.cached <= asked


def test_a_duplicate_id_at_the_end_fails_naming_both_lines(
    tmp_path: Path, db_url: str, server: Any
) -> None:
    n = 6000
    late = json.dumps({"id": "c5", "i": 5, "answer": "yes", "note": "x"})
    path = dataset_suite(tmp_path, server.base_url, n, last=late)
    failed = evalbook_cmd("run", str(path), "-c", "50", "--no-cache")
    assert failed.returncode not in (0, 100)
    dataset = tmp_path / "cases.jsonl"
    assert f"{dataset}:{n + 1}" in failed.stderr
    assert f"duplicate case id 'c5', first used at {dataset}:6" in failed.stderr
    store = Store.open(db_url)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_the_run_id_comes_before_the_first_result(tmp_path: Path, db_url: str) -> None:
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    n = 20
    with run_test_server_in_thread(TestServerConfig(latency_ms=150)) as srv:
        path = dataset_suite(tmp_path, srv.base_url, n)
        proc = start_run_until(path, srv, 0)
        assert proc.stderr is not None
        first = proc.stderr.readline()
        store = Store.open(db_url)
        try:
            run_id = only_run_id(db_url)
            recorded = len(store.result_statuses(run_id))
        finally:
            store.close()
        proc.communicate(timeout=120)
    assert first.startswith(f"run {run_id} started; if it is stopped, continue it with")
    assert recorded < n
    assert proc.returncode in (0, 100)


def test_an_interrupted_streamed_run_resumes_with_only_what_is_missing(
    tmp_path: Path, db_url: str
) -> None:
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    n = 120
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        path = dataset_suite(tmp_path, srv.base_url, n)
        proc = start_run_until(path, srv, n // 3)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        run_id = only_run_id(db_url)
        store = Store.open(db_url)
        try:
            kept = len(store.result_statuses(run_id))
            assert store.get_run(run_id).counts.total == n  # recorded with its whole suite
        finally:
            store.close()
        assert 0 < kept < n
        srv.reset()
        evalbook_cmd("resume", run_id, check=0)
        assert srv.requests == n - kept
    store = Store.open(db_url)
    try:
        run = store.get_run(run_id)
        assert run.status is RunStatus.completed and run.counts.total == n
        assert len(store.result_statuses(run_id)) == n
    finally:
        store.close()


def test_a_declined_stream_loads_on_without_waiting(tmp_path: Path) -> None:
    """The loader waits after its first cases until the run has queued them; a run that
    loads the whole suite first (``--cases``, a matrix) declines them and is not held."""
    import time

    from evalbook.executor import streamed

    path = dataset_suite(tmp_path, "http://127.0.0.1:9/v1", 3 * streamed.FIRST_CASES)
    source = StreamedSuite.start(path, limit=10_000)
    assert source.head() is not None
    time.sleep(0.2)  # the loader has handed over its first cases and waits
    started = time.monotonic()
    source.decline()
    assert len(source.suite().cases) == 3 * streamed.FIRST_CASES
    assert time.monotonic() - started < streamed.PAUSE_S / 2
