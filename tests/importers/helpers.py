"""Running the ``evalbook`` command as a real subprocess, and the importer fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from evalbook.storage.store import Store

FIXTURES = Path(__file__).parent.parent / "fixtures" / "importers"


def evalbook(
    *args: str, check: int | None = 0, timeout: float = 120
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


def run_json(*args: str, check: int | None = None) -> dict[str, Any]:
    """``evalbook run … --json``: the run record."""
    proc = evalbook("run", *args, "--json", check=check)
    assert proc.stdout, proc.stderr
    record: dict[str, Any] = json.loads(proc.stdout)
    return record


def statuses(run_id: str) -> dict[str, str]:
    """Case id → result status of a recorded run."""
    store = Store.open()
    try:
        return {r.case_id: r.status.value for r in store.iter_results(run_id)}
    finally:
        store.close()
