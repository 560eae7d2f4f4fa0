"""The ``evalbook`` command, run as a real subprocess against real databases."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from evalbook.io.export import record_schema
from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from ..executor.helpers import server_key
from ..server.live import closed_port


def evalbook_cmd(
    *args: str, check: int | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "evalbook", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def write_suite(
    path: Path, base_url: str, n: int = 6, *, threshold: float = 0.3, **extra: Any
) -> Path:
    data = {
        "id": "cli-suite",
        "name": "CLI suite",
        "threshold": threshold,
        "model": {
            "provider": "openai-compatible",
            "name": "test-model",
            "base_url": base_url,
            "temperature": 0,
        },
        "prompt": "[[answer={{ answer }}]] q{{ i }}",
        "scorers": [{"equals": "yes"}],
        "cases": [
            {
                "id": f"c{i}",
                "vars": {"i": i, "answer": "yes" if i % 2 == 0 else "no"},
                "section": "even" if i % 2 == 0 else "odd",
                "tags": ["t"],
            }
            for i in range(n)
        ],
        **extra,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


#: ``evalbook`` with Ctrl-C raising KeyboardInterrupt whatever the test was started from: a
#: shell that runs background jobs (``cmd &``, ``nohup``) starts them with SIGINT ignored,
#: children inherit that, and Python then installs no KeyboardInterrupt handler.
INTERRUPTIBLE_EVALBOOK = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from evalbook.cli.app import main\n"
    "main(sys.argv[1:])\n"
)


def start_run_until(suite: Path, server: Any, requests: int) -> subprocess.Popen[str]:
    """``evalbook run`` in the background, returned once the server has seen ``requests``.
    Its SIGINT disposition is set, not inherited (see ``INTERRUPTIBLE_EVALBOOK``)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE_EVALBOOK, "run", str(suite), "--concurrency", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while server.requests < requests and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc


def wait_for_a_recorded_result(db_url: str, proc: subprocess.Popen[str]) -> None:
    """Returns once the database holds one run with at least one result (or fails)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        store = Store.open(db_url)
        try:
            runs = store.list_runs()
            if runs and store.result_statuses(runs[0].id):
                return
        finally:
            store.close()
        time.sleep(0.02)
    raise AssertionError(f"no result was recorded (exit code {proc.poll()})")


def only_run_id(db_url: str) -> str:
    store = Store.open(db_url)
    try:
        [run] = store.list_runs()
        return run.id
    finally:
        store.close()


def test_run_list_show_export(tmp_path: Path, db_url: str, server: Any) -> None:
    # `extract` records evidence.details, which the export must leave out (its schema's
    # evidence has no such field).
    scorers = [{"equals": "yes", "extract": "strip"}]
    suite = write_suite(tmp_path / "suite.yaml", server.base_url, scorers=scorers)
    out = evalbook_cmd(
        "run",
        str(suite),
        "--alias",
        "prod",
        "--label",
        "v5",
        "--tag",
        "ci",
        "--experiment",
        "exp",
        check=0,
    )
    assert "score" in out.stdout and "0.500" in out.stdout and "PASS" in out.stdout
    assert "recorded in" in out.stdout
    run_id = only_run_id(db_url)

    listed = json.loads(evalbook_cmd("runs", "list", "--json", check=0).stdout)
    assert [r["id"] for r in listed] == [run_id]
    assert listed[0]["alias"] == "prod" and listed[0]["tags"] == ["ci"]
    assert (
        evalbook_cmd("runs", "list", "--alias", "other", "--json", check=0).stdout.strip() == "[]"
    )

    shown = json.loads(evalbook_cmd("runs", "show", run_id[:8], "--json", check=0).stdout)
    assert shown["id"] == run_id and shown["counts"]["passed"] == 3
    assert len(shown["results"]) == 6
    evidence = shown["results"][0]["scores"][0]["evidence"]
    assert evidence["details"] == {"extract": "strip", "extracted": "yes"}  # stored
    for field in (
        "type",
        "title",
        "status",
        "run_date",
        "score",
        "passed",
        "duration_ms",
        "token_count",
        "input_token_count",
        "output_token_count",
        "cost",
        "error_rate",
        "feedback_scores",
        "suite_hash",
        "prompt_version",
        "model",
        "evalbook_version",
    ):
        assert field in shown
    text = evalbook_cmd("runs", "show", run_id, "--failed", check=0).stdout
    assert "c1" in text and "c0" not in text.split("cases")[-1]

    schema = record_schema()
    jsonl = evalbook_cmd("export", run_id, "--format", "jsonl", check=0).stdout.splitlines()
    records = [json.loads(line) for line in jsonl]
    assert len(records) == 6  # one record per (case, scorer)
    for rec in records:
        jsonschema.validate(rec, schema)
    assert {r["case_id"] for r in records} == {f"c{i}" for i in range(6)}
    rec0 = next(r for r in records if r["case_id"] == "c0")
    assert rec0["score"] == 1.0 and rec0["output"] == "yes" and rec0["suite_id"] == "cli-suite"
    assert rec0["experiment_id"] == "exp" and rec0["scorer"]["type"] == "reference_based"
    assert rec0["model"] == {
        "provider": "openai-compatible",
        "name": "test-model",
        "version": "test-model+fp_evalbook_test",
        "temperature": 0.0,
        "max_tokens": 256,
    }
    assert rec0["input"] == {"i": 0, "answer": "yes"} and rec0["tags"] == ["t"]

    as_json = json.loads(evalbook_cmd("export", run_id, "--format", "json", check=0).stdout)
    assert as_json == records
    rows = list(
        csv.DictReader(
            io.StringIO(evalbook_cmd("export", run_id, "--format", "csv", check=0).stdout)
        )
    )
    assert len(rows) == 6 and rows[0]["scorer.name"] == "equals"
    out_file = tmp_path / "run.jsonl"
    evalbook_cmd("export", run_id, "-o", str(out_file), check=0)
    assert len(out_file.read_text().splitlines()) == 6


def test_exit_100_when_threshold_not_met(tmp_path: Path, db_url: str, server: Any) -> None:
    suite = write_suite(tmp_path / "suite.yaml", server.base_url, threshold=0.9)
    out = evalbook_cmd("run", str(suite), "--json", check=100)
    record = json.loads(out.stdout)
    assert record["passed"] is False and record["status"] == "completed"


def test_a_run_with_an_errored_case_exits_non_zero_and_says_which_and_why(
    tmp_path: Path, db_url: str, server: Any
) -> None:
    """Threshold 0 and every other case passing: the case whose variable is missing still
    fails the run, and the summary names it and the cause (it used to say PASS, exit 0)."""
    suite = write_suite(tmp_path / "suite.yaml", server.base_url, n=3, threshold=0)
    data = yaml.safe_load(suite.read_text())
    data["cases"].append({"id": "typo", "vars": {"i": 9}})  # no `answer`
    suite.write_text(yaml.safe_dump(data, sort_keys=False))
    out = evalbook_cmd("run", str(suite), check=100).stdout
    assert "errored cases" in out
    [row] = [line for line in out.splitlines() if "typo" in line]
    assert "render" in row and "answer" in row
    assert "failed to render" in out


def test_an_unreachable_endpoint_exits_non_zero_with_one_line(tmp_path: Path, db_url: str) -> None:
    """Every call refused, threshold 0: not a pass; one line names the URL and the cause,
    no traceback per case."""
    url = f"http://127.0.0.1:{closed_port()}/v1"
    suite = write_suite(tmp_path / "suite.yaml", url, n=20, threshold=0)
    proc = evalbook_cmd("run", str(suite))
    assert proc.returncode not in (0, 100), proc.returncode
    both = proc.stdout + proc.stderr
    assert f"cannot reach {url}" in both and "connection refused" in both
    assert "Traceback" not in both and "ClientConnectorError" not in both


def test_run_options(tmp_path: Path, db_url: str, server: Any) -> None:
    suite = write_suite(tmp_path / "suite.yaml", server.base_url)
    out = json.loads(
        evalbook_cmd(
            "run",
            str(suite),
            "--cases",
            "c0,c2",
            "--epochs",
            "2",
            "--concurrency",
            "2",
            "--no-cache",
            "--json",
            check=0,
        ).stdout
    )
    assert out["counts"]["total"] == 4
    assert out["options"] == {
        "concurrency": 2,
        "epochs": 2,
        "case_ids": ["c0", "c2"],
        "max_cost": None,
        "use_cache": False,
        "max_attempts": None,
        "retry_budget_s": 600.0,
        "max_error_rate": 0.0,
    }
    other = json.loads(
        evalbook_cmd("run", str(suite), "--model", "mock:echo", "--json", check=100).stdout
    )
    assert other["model"]["provider"] == "mock" and other["model"]["temperature"] == 0


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("id: x\nprompt: [unclosed\n", "suite.yaml:3:1: invalid YAML"),
        ("id: x\nprompt: hi\ncases:\n  - vars: {a: 1}\n    expcted: 1\n", "expcted"),
        (
            "id: x\nprompt: hi\nscorers: [contans]\ncases: [{vars: {a: 1}}]\n",
            "Did you mean 'contains'",
        ),
        (
            "id: x\nprompt: hi\nmodel: opneai:gpt\ncases: [{vars: {a: 1}}]\n",
            "Did you mean 'openai'",
        ),
        ("id: x\nprompt: hi\ncases: [{file: missing.jsonl}]\n", "missing.jsonl"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, db_url: str, content: str, needle: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(content)
    out = evalbook_cmd("run", str(path), check=1)
    assert needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_unreadable_dataset_names_the_file(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "cases.jsonl"
    data.write_text('{"vars": {"a": 1}}\n')
    data.chmod(0)
    path = tmp_path / "suite.yaml"
    path.write_text("id: x\nprompt: hi\ncases: [{file: cases.jsonl}]\n")
    try:
        if os.access(data, os.R_OK):  # running as root: make the path a directory instead
            data.chmod(0o644)
            data.unlink()
            data.mkdir()
        out = evalbook_cmd("run", str(path), check=1)
    finally:
        if data.is_file():
            data.chmod(0o644)
    assert "cases.jsonl" in out.stderr and "Traceback" not in out.stderr


def test_missing_api_key_variable(tmp_path: Path, db_url: str) -> None:
    path = write_suite(tmp_path / "suite.yaml", "http://127.0.0.1:9/v1")
    env_free = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "evalbook", "run", str(path), "--model", "openai:gpt-4o-mini"],
        capture_output=True,
        text=True,
        env=env_free,
        timeout=60,
    )
    assert proc.returncode == 1 and "OPENAI_API_KEY" in proc.stderr


def test_schema_commands() -> None:
    suite_schema = json.loads(evalbook_cmd("schema", "suite", check=0).stdout)
    assert suite_schema["$id"].endswith("suite.json")
    record = json.loads(evalbook_cmd("schema", "record", check=0).stdout)
    assert set(record["required"]) == {
        "id",
        "case_id",
        "model",
        "output",
        "scorer",
        "score",
        "timestamp",
    }


@pytest.mark.slow
def test_kill_9_shows_interrupted_then_resume_asks_nothing_twice(
    tmp_path: Path, db_url: str
) -> None:
    n = 300
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        suite = write_suite(tmp_path / "suite.yaml", srv.base_url, n=n)
        proc = start_run_until(suite, srv, n // 4)
        # A streamed run is recorded once its suite is loaded, and its results are written
        # in batches: on a busy machine both may lag the requests, so the kill waits for a
        # recorded result (it must interrupt a run, not a process that recorded nothing).
        wait_for_a_recorded_result(db_url, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        run_id = only_run_id(db_url)
        store = Store.open(db_url)
        try:
            assert store.get_run(run_id).status.value == "running"  # killed: never finished
            recorded = list(store.iter_results(run_id))
        finally:
            store.close()
        assert 0 < len(recorded) < n
        # Its process is gone: shown as interrupted, with the way to continue it.
        assert "interrupted" in evalbook_cmd("runs", "list", check=0).stdout
        shown = evalbook_cmd("runs", "show", run_id[:8], check=0).stdout
        assert f"evalbook resume {run_id[:8]}" in shown
        evalbook_cmd("resume", run_id[:8], check=0)
        by_key = srv.stats()["by_key"]
    store = Store.open(db_url)
    try:
        run = store.get_run(run_id)
        results = list(store.iter_results(run_id))
    finally:
        store.close()
    assert run.status.value == "completed" and run.counts.total == n
    assert sorted(r.case_id for r in results) == sorted(f"c{i}" for i in range(n))
    assert len(by_key) == n
    for r in recorded:
        assert by_key[server_key(r.prompt or "")] == 1, "a recorded case was requested again"
    # At most the items in flight at the kill (plus one unflushed batch) were asked twice.
    assert sum(by_key.values()) - n <= 4 + 200
    assert "interrupted" not in evalbook_cmd("runs", "list", check=0).stdout


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_resume_finishes(tmp_path: Path, db_url: str) -> None:
    n = 120
    with run_test_server_in_thread(TestServerConfig(latency_ms=40)) as srv:
        suite = write_suite(tmp_path / "suite.yaml", srv.base_url, n=n)
        # Start the run as a shell's background job would (SIGINT ignored, inherited): the
        # run must still take Ctrl-C, because the test sets the disposition it relies on.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            proc = start_run_until(suite, srv, n // 3)
        finally:
            signal.signal(signal.SIGINT, previous)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "canceled: finished cases are kept. Resume with" in err
        run_id = only_run_id(db_url)
        store = Store.open(db_url)
        try:
            run = store.get_run(run_id)
            kept = len(store.result_statuses(run_id))
        finally:
            store.close()
        assert run.status.value == "canceled" and run.stop_reason == "canceled by the user"
        assert 0 < kept < n and run.counts.total == kept
        evalbook_cmd("run", str(suite), "--resume", run_id, check=0)
        assert evalbook_cmd("run", str(suite), "--resume", run_id, "--model", "mock:echo", check=1)
    store = Store.open(db_url)
    try:
        assert store.get_run(run_id).counts.total == n
    finally:
        store.close()
