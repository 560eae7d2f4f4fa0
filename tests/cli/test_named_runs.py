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


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
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
