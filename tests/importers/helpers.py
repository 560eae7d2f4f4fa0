"""Running the ``evalbook`` command as a real subprocess, and the importer fixtures."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from evalbook.storage.store import Store

from ..cli.test_cli import evalbook_cmd

FIXTURES = Path(__file__).parent.parent / "fixtures" / "importers"


def evalbook(
    *args: str, check: int | None = 0, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``evalbook ARGS`` in a subprocess; by default it must exit 0."""
    return evalbook_cmd(*args, check=check, timeout=timeout)


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
