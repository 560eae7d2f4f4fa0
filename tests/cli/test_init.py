"""``evalbook init [DIR]``: the scaffold loads, runs as written (both prompt versions) and
refuses to overwrite what a user already has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from evalbook.cli.app import app
from evalbook.suites import load_suite

runner = CliRunner()


def test_init_writes_a_suite_that_runs_both_prompt_versions(tmp_path: Path, server: Any) -> None:
    target = tmp_path / "evals"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["cases.jsonl", "suite.yaml"]
    assert f"evalbook run {target / 'suite.yaml'}" in result.output

    suite = load_suite(target / "suite.yaml")
    assert suite.model is not None and suite.model.provider == "local"
    assert suite.prompt is not None
    assert [v.version for v in suite.prompt.versions] == [1, 2]
    assert len(suite.cases) == 6 and suite.scorers

    model = f"openai-compatible:test-model@{server.base_url}"
    records = []
    for version in ("1", "2"):
        run = runner.invoke(
            app,
            [
                *("run", str(target / "suite.yaml"), "--model", model),
                *("--prompt-version", version, "--alias", f"v{version}", "--json"),
            ],
        )
        # The test server echoes the question, so most answers miss: the run is recorded
        # complete and does not pass (exit 100); nothing errors.
        assert run.exit_code in (0, 100), run.output
        records.append(json.loads(run.stdout[run.stdout.index("{") :]))
    for version, record in zip((1, 2), records, strict=True):
        assert record["status"] == "completed"
        assert record["prompt_version"] == version
        assert record["counts"]["total"] == 6 and record["counts"]["errored"] == 0
    assert server.requests == 12

    compared = runner.invoke(app, ["compare", "--alias", "v1", "--alias", "v2", "--json"])
    assert compared.exit_code == 0, compared.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text("mine\n")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "suite.yaml already exists" in str(result.exception)
    assert (tmp_path / "suite.yaml").read_text() == "mine\n"
    assert not (tmp_path / "cases.jsonl").exists()

    forced = runner.invoke(app, ["init", str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "my-first-suite" in (tmp_path / "suite.yaml").read_text()
