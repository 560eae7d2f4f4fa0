"""A planted key is used for the model calls but lands nowhere: not in the database, the
command's output and logs, the exports, the API's answers or the pages. Configs that would
record a key are refused before anything is recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from evalbook.server import ServerSettings, create_app
from evalbook.storage import tables as t
from evalbook.storage.store import Store
from evalbook.testing import TestServerConfig, run_test_server_in_thread

from .test_cli import evalbook_cmd

SECRET = "sk-planted-7f3a9c1e55"


def _suite(path: Path, model: dict[str, Any]) -> Path:
    data = {
        "id": "keyed",
        "model": model,
        "prompt": "{{ q }}",
        "scorers": [{"contains": "yes"}],
        "cases": [
            {"id": "ok", "vars": {"q": "[[answer=yes]] fine"}},
            {"id": "flaky", "vars": {"q": "[[fail=500:1]] [[answer=yes]] retried"}},
            {"id": "refused", "vars": {"q": "[[fail=400:9]] bad request"}},
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _database_text(url: str) -> str:
    """Everything the database holds, as text (SQLite: the files themselves)."""
    if url.startswith("sqlite"):
        db = Path(url.split("///", 1)[1])
        return "".join(p.read_bytes().decode("latin-1") for p in db.parent.glob(db.name + "*"))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                str(row)
                for table in t.metadata.sorted_tables
                for row in conn.execute(sa.text(f"SELECT {table.name}::text FROM {table.name}"))
            )
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_a_planted_key_is_sent_but_never_recorded(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_MODEL_KEY", SECRET)
    config = TestServerConfig(required_api_key=SECRET)
    with run_test_server_in_thread(config) as server:
        model = {
            "provider": "openai-compatible",
            "name": "m",
            "base_url": f"{server.base_url}",
            "api_key_env": "TEAM_MODEL_KEY",
        }
        suite = _suite(tmp_path / "suite.yaml", model)
        ran = evalbook_cmd("run", str(suite), "--json")
        assert server.requests >= 3  # the key was sent, and accepted
        seen = [ran.stdout, ran.stderr]
        run_id = json.loads(ran.stdout)["id"]
        for fmt in ("jsonl", "json", "csv"):
            exported = evalbook_cmd("export", run_id, "--format", fmt, check=0)
            seen.append(exported.stdout)
        shown = evalbook_cmd("runs", "show", run_id, "--json", check=0)
        seen.append(shown.stdout)

    store = Store.open(db_url)
    try:
        run = store.get_run(run_id)
        assert run.counts.passed == 2 and run.counts.errored == 1
        app = create_app(ServerSettings(worker=False), store=store, services=())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                for path in (
                    f"/api/runs/{run_id}", f"/api/runs/{run_id}/results",
                    f"/api/runs/{run_id}/results/refused", f"/api/runs/{run_id}/export",
                    f"/runs/{run_id}", f"/runs/{run_id}?failed_only=1", "/runs", "/",
                ):  # fmt: skip
                    answer = await api.get(path)
                    assert answer.status_code == 200, (path, answer.text[:300])
                    seen.append(answer.text)
    finally:
        store.close()
    seen.append(_database_text(db_url))
    leaks = [i for i, text in enumerate(seen) if SECRET in text]
    assert leaks == []
    assert "TEAM_MODEL_KEY" in seen[-1]  # the name is recorded: a resume finds the key


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ({"params": {"api_key": SECRET}}, "params.api_key looks like a secret"),
        ({"params": {"extra_headers": {"Authorization": f"Bearer {SECRET}"}}},
         "params.extra_headers.Authorization looks like a secret"),
        ({"base_url": f"http://user:{SECRET}@127.0.0.1:9/v1"}, "base_url holds credentials"),
        ({"base_url": f"http://127.0.0.1:9/v1?api_key={SECRET}"}, "base_url holds ?api_key"),
    ],
)  # fmt: skip
def test_a_config_that_would_record_a_key_is_refused(
    db_url: str, tmp_path: Path, model: dict[str, Any], why: str
) -> None:
    base = {"provider": "openai-compatible", "name": "m", "base_url": "http://127.0.0.1:9/v1"}
    suite = _suite(tmp_path / "suite.yaml", {**base, **model})
    refused = evalbook_cmd("run", str(suite), check=1)
    assert why in refused.stderr and "api_key_env" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr
    assert SECRET not in _database_text(db_url)
    store = Store.open(db_url)
    try:
        assert store.list_runs() == []
    finally:
        store.close()
