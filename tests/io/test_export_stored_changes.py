"""Every export says what was changed in a result to store it (an output cut at
``EVALBOOK_MAX_STORED_BYTES``, a NUL replaced by U+FFFD), on SQLite and PostgreSQL: a tag
per change in the JSONL/JSON records (the schema admits no field of our own), the
``stored_changes`` column in CSV and Parquet, a property on the JUnit test case; through
``evalbook export`` and ``GET /api/runs/{id}/export`` alike. A result stored as it was is
exported exactly as without the store."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app as cli
from evalbook.io.export import STORED_TAG, record_schema, to_string
from evalbook.io.export_tables import write_junit
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..server.resources import serve
from ..server.test_stored_changes_api import HOSTILE, LIMIT, hostile_suite

CUT = "output truncated from 60.5 KiB to 19.5 KiB when stored"
NUL = "output: NUL characters replaced by U+FFFD when stored"


async def test_exports_say_what_was_changed_to_store_a_result(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert len(HOSTILE) > LIMIT
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", str(LIMIT))
    run = await evalbook.arun(load_suite_from_dict(hostile_suite()), model="mock:echo", store=store)
    assert run.status == "completed"
    run = store.get_run(run.id)

    jsonl = to_string(run, store.iter_results(run.id), "jsonl", stored=store)
    records = {r["case_id"]: r for r in map(json.loads, jsonl.splitlines())}
    for rec in records.values():
        jsonschema.validate(rec, record_schema())
    huge = [t.removeprefix(STORED_TAG) for t in records["huge"]["tags"]]
    assert huge[1] == CUT and len(huge) == 4 and all(t.endswith(" when stored") for t in huge)
    assert NUL in [t.removeprefix(STORED_TAG) for t in records["nul"]["tags"]]
    plain = to_string(run, [store.get_result(run.id, "plain")], "jsonl")
    lines = {json.loads(line)["case_id"]: line for line in jsonl.splitlines()}
    assert lines["plain"] == plain.strip()  # unchanged: exactly as without the store
    assert records["plain"]["tags"] == []
    as_json = json.loads(to_string(run, store.iter_results(run.id), "json", stored=store))
    assert as_json == list(records.values())

    rows = {
        r["case_id"]: r
        for r in csv.DictReader(
            io.StringIO(to_string(run, store.iter_results(run.id), "csv", stored=store))
        )
    }
    assert rows["plain"]["stored_changes"] == "" and rows["huge"]["tags"] == "[]"
    assert CUT in rows["huge"]["stored_changes"].split("; ")
    assert NUL in rows["nul"]["stored_changes"].split("; ")

    out = io.StringIO()
    write_junit(run, store.iter_results(run.id), out, store)
    cases = {c.get("name"): c for c in ET.fromstring(out.getvalue()).iter("testcase")}
    assert cases["plain"].find("properties") is None
    assert CUT in [p.get("value") for p in cases["huge"].iter("property")]

    runner = CliRunner()
    parquet = tmp_path / "run.parquet"
    done = runner.invoke(cli, ["export", run.id, "-f", "parquet", "-o", str(parquet)])
    assert done.exit_code == 0, done.output
    table = {r["case_id"]: r for r in pq.read_table(parquet).to_pylist()}
    assert table["plain"]["stored_changes"] is None
    assert CUT in table["huge"]["stored_changes"].split("; ")
    assert NUL in table["nul"]["stored_changes"].split("; ")
    cli_jsonl = runner.invoke(cli, ["export", run.id, "-f", "jsonl"])
    assert cli_jsonl.exit_code == 0 and cli_jsonl.stdout == jsonl

    async with serve(store) as (api, _):
        for fmt in ("jsonl", "csv"):
            response = await api.get(f"/api/runs/{run.id}/export", params={"format": fmt})
            assert response.status_code == 200
            assert response.text == to_string(run, store.iter_results(run.id), fmt, stored=store)
