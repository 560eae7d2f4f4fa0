"""Commands that read one run take ``latest`` (the newest run, whatever its status) and
``alias:NAME`` besides an id: ``runs show latest`` said "no run 'latest'"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app
from evalbook.executor.launch import prepare_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

runner = CliRunner()
SUITE = {
    "id": "named",
    "model": "mock:echo",
    "prompt": "say {{ q }}",
    "scorers": [{"contains": "yes"}],
    "cases": [{"id": "a", "vars": {"q": "yes"}}, {"id": "b", "vars": {"q": "no"}}],
}


def _invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def test_latest_and_an_alias_name_the_run_to_read(store: Store, tmp_path: Path) -> None:
    suite = load_suite_from_dict(SUITE)
    prod = asyncio.run(evalbook.arun(suite, store=store, alias="prod"))
    other = asyncio.run(evalbook.arun(suite, store=store))
    # The newest run is still pending (queued, never executed): `latest` is it.
    pending = prepare_run(store, suite)
    asyncio.run(pending.aclose())

    shown = json.loads(_invoke("runs", "show", "latest", "--json"))
    assert shown["id"] == pending.run.id and shown["status"] == "pending"
    assert json.loads(_invoke("runs", "show", "alias:prod", "--json"))["id"] == prod.id
    summary = _invoke("runs", "show", "alias:prod")
    assert prod.id in summary

    exported = _invoke("export", "alias:prod")
    assert exported == _invoke("export", prod.id) != _invoke("export", other.id)
    report = tmp_path / "report.html"
    _invoke("report", "latest", "-o", str(report))
    assert pending.run.id in report.read_text()


def test_latest_of_an_empty_record_is_a_clear_error(store: Store) -> None:
    result = runner.invoke(app, ["runs", "show", "latest"])
    assert result.exit_code == 1
    assert f"no run recorded in {store.location} yet" in str(result.exception)


def test_commands_that_act_on_a_run_take_latest_and_an_alias(store: Store, tmp_path: Path) -> None:
    """``resume``, ``run --resume``, ``runs cancel``, ``feedback`` and ``rescore`` read
    their RUN as ``runs show`` does: ``evalbook resume latest`` after a stop."""
    suite = load_suite_from_dict(SUITE)
    prod = asyncio.run(evalbook.arun(suite, store=store, alias="prod"))

    stopped = prepare_run(store, suite)  # recorded, never executed: the newest run
    asyncio.run(stopped.aclose())
    _invoke("resume", "latest", code=100)  # completed, one case of two passing
    resumed = store.get_run(stopped.run.id)
    assert resumed.status.value == "completed" and resumed.counts.total == 2

    path = tmp_path / "suite.yaml"
    path.write_text(json.dumps(SUITE))
    again = prepare_run(store, load_suite_from_dict(SUITE))
    asyncio.run(again.aclose())
    _invoke("run", str(path), "--resume", "latest", code=100)
    assert store.get_run(again.run.id).status.value == "completed"

    queued = prepare_run(store, suite)
    asyncio.run(queued.aclose())
    _invoke("runs", "cancel", "latest")
    assert store.get_run(queued.run.id).status.value == "canceled"
    assert store.get_run(again.run.id).status.value == "completed"

    recorded = json.loads(_invoke("feedback", "alias:prod", "a", "--score", "1", "--json"))
    assert recorded["feedback"]["run_id"] == prod.id
    listed = json.loads(_invoke("feedback", "alias:prod", "--json"))
    assert listed["run"] == prod.id and len(listed["feedback"]) == 1

    rescored = json.loads(_invoke("rescore", "alias:prod", "--scorer", "contains: say", "--json"))
    assert rescored["rescored_from"] == prod.id
    assert rescored["id"] not in (prod.id, queued.run.id)
