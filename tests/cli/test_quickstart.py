"""``evalbook quickstart`` on the real embedded SmolLM2-135M model (downloaded once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evalbook.storage.store import Store

from ..conftest import model_home


@pytest.mark.slow
@pytest.mark.model
def test_quickstart_runs_a_real_eval_on_the_local_model(db_url: str) -> None:
    # The model file is kept under this EVALBOOK_HOME between test runs; the run itself is
    # recorded in the test's own database.
    env = {**os.environ, "EVALBOOK_HOME": str(model_home()), "EVALBOOK_DATABASE_URL": db_url}
    proc = subprocess.run(
        [sys.executable, "-m", "evalbook", "quickstart", "--json", "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["status"] == "completed"
    assert run["suite_id"] == "quickstart"
    assert run["model"]["provider"] == "local" and run["model"]["name"] == "smollm2-135m"
    assert run["counts"]["total"] == 18 and run["counts"]["errored"] == 0
    assert 0 < run["counts"]["passed"] < 18, "a 135M model gets some right and some wrong"
    assert run["input_token_count"] > 0 and run["output_token_count"] > 0
    assert run["cost"] == 0.0
    assert set(run["metrics"]["sections"]) == {"arithmetic", "facts", "format"}
    assert run["metrics"]["latency_ms"]["p50"] > 0

    store = Store.open(db_url)
    try:
        results = list(store.iter_results(run["id"]))
    finally:
        store.close()
    assert len(results) == 18
    assert all(r.output for r in results)
    assert {r.served_model for r in results} == {"SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert all("seed=0" in (r.system_fingerprint or "") for r in results)


@pytest.mark.slow
@pytest.mark.model
def test_quickstart_prints_the_summary(db_url: str) -> None:
    env = {
        **os.environ,
        "EVALBOOK_HOME": str(model_home()),
        "EVALBOOK_DATABASE_URL": db_url,
        "COLUMNS": "120",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "evalbook", "quickstart"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for needle in (
        "score",
        "threshold 0.5",
        "arithmetic",
        "facts",
        "format",
        "p50",
        "p95",
        "tokens",
        "recorded in",
    ):
        assert needle in proc.stdout, needle
