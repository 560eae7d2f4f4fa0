"""JUnit and Parquet exports of a real run (the echo fixture run offline)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow.parquet as pq

from ..importers.helpers import FIXTURES, evalbook, run_json

ECHO = FIXTURES / "promptfoo" / "echo" / "promptfooconfig.yaml"


def test_junit_and_parquet_exports(tmp_path: Path) -> None:
    run = run_json(str(ECHO), "--no-cache", "--prompt-version", "2")
    proc = evalbook("export", run["id"], "--format", "junit")
    root = ET.fromstring(proc.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("12", "1", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["test-1"].find("failure") is None
    assert cases["test-1"].findtext("system-out") == "Topic: cats\nLanguage: English"
    failure = cases["test-8"].find("failure")
    assert failure is not None and failure.get("message") == "failed: contains"
    assert "contains: score 0" in (failure.text or "")
    error = cases["test-9"].find("error")
    assert error is not None and "was not imported" in (error.text or "")
    assert cases["test-9"].get("classname") == run["suite_id"]

    out = tmp_path / "run.parquet"
    evalbook("export", run["id"], "--format", "parquet", "-o", str(out))
    table = pq.read_table(out).to_pylist()
    assert len(table) == 12
    rows = {r["case_id"]: r for r in table}
    assert rows["test-1"]["status"] == "passed" and rows["test-1"]["score.topic"] == 1.0
    assert rows["test-1"]["passed.topic"] is True
    assert rows["test-8"]["passed.contains"] is False
    assert rows["test-2"]["score.topic"] is None  # a scorer the case does not have
    assert rows["test-9"]["status"] == "error"
    proc = evalbook("export", run["id"], "--format", "parquet", check=None)
    assert proc.returncode != 0 and "-o" in proc.stderr
