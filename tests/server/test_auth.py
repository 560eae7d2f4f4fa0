"""Workspaces and keys: single-user mode only on loopback and only while no key exists."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app as cli
from evalbook.errors import ConfigError
from evalbook.server import ServerSettings
from evalbook.server.app import check_bind
from evalbook.server.settings import is_loopback
from evalbook.storage import tables
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key, list_keys, resolve_key, revoke_key

from ..executor.helpers import yes_no_suite


async def test_without_keys_loopback_is_single_user(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/whoami")
    assert response.status_code == 200
    assert response.json() == {"workspace_id": "default", "workspace": "default"}
    assert (await api.get("/api/health")).json()["status"] == "ok"


async def test_once_a_key_exists_every_request_needs_one(
    api: httpx.AsyncClient, store: Store
) -> None:
    key, record = create_key(store, "team-a", "ci")
    other, _ = create_key(store, "team-b")
    assert (await api.get("/api/whoami")).status_code == 401
    me = await api.get("/api/whoami", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["workspace"] == "team-a"
    them = await api.get("/api/whoami", headers={"Authorization": f"Bearer {other}"})
    assert them.json()["workspace"] == "team-b"
    assert them.json()["workspace_id"] != me.json()["workspace_id"]
    for bad in ("Bearer ek_nope", "Basic abc", "Bearer"):
        assert (await api.get("/api/whoami", headers={"Authorization": bad})).status_code == 401
    revoke_key(store, record.prefix)
    revoked = await api.get("/api/whoami", headers={"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401
    assert (await api.get("/api/health")).status_code == 200  # liveness needs no key


async def test_a_keys_use_is_noted_at_most_once_a_minute_and_looked_up_without_a_hop(
    api: httpx.AsyncClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup is a quick read (on SQLite in the loop's own thread); the note of the
    key's use a write, made when the last is older than a minute."""
    import threading
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from evalbook.server import auth

    key, record = create_key(store, "team-a")
    threads: list[int] = []
    find = auth.find_key

    def looked_up(*args: object) -> object:
        threads.append(threading.get_ident())
        return find(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(auth, "find_key", looked_up)
    k = tables.api_keys.c

    def last_used() -> datetime | None:
        with store.engine.connect() as conn:
            value = conn.execute(sa.select(k.last_used_at)).scalar_one()
        return None if value is None else value.replace(tzinfo=UTC)

    def set_last_used(value: datetime) -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.update(tables.api_keys).values(last_used_at=value))

    bearer = {"Authorization": f"Bearer {key}"}
    assert last_used() is None
    assert (await api.get("/api/whoami", headers=bearer)).status_code == 200
    first = last_used()
    assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)
    recent = first - timedelta(seconds=50)
    set_last_used(recent)
    assert (await api.get("/api/whoami", headers=bearer)).status_code == 200
    assert last_used() == recent  # used within the minute: no write
    set_last_used(recent - timedelta(seconds=20))
    assert (await api.get("/api/whoami", headers=bearer)).status_code == 200
    assert last_used() > recent  # type: ignore[operator]
    in_loop = [ident == threading.get_ident() for ident in threads]
    assert in_loop == [store.dialect == "sqlite"] * 3
    assert resolve_key(store, key) is not None and record.revoked_at is None


def test_keys_are_stored_hashed(store: Store) -> None:
    key, record = create_key(store, "team-a")
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(tables.api_keys.select())]
    assert len(rows) == 1
    assert key not in str(rows) and key[10:] not in str(rows)
    assert rows[0]["prefix"] == key[:10] == record.prefix
    workspace = resolve_key(store, key)
    assert workspace is not None and workspace.name == "team-a"
    assert [k.id for k in list_keys(store, "team-a")] == [record.id]


def test_binding_beyond_loopback_without_keys_is_refused(store: Store) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    check_bind(ServerSettings(host="127.0.0.1"), store)
    with pytest.raises(ConfigError, match="without API keys"):
        check_bind(ServerSettings(host="0.0.0.0"), store)
    create_key(store, "team-a")
    check_bind(ServerSettings(host="0.0.0.0"), store)


def test_serve_refuses_a_public_bind_without_keys(db_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "evalbook", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "without API keys" in proc.stderr


def test_keys_cli_creates_lists_and_revokes(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--workspace", "ml", "--name", "ci"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ek_")
    listed = runner.invoke(cli, ["keys", "list", "--json"])
    assert key not in listed.output and key[:10] in listed.output
    revoked = runner.invoke(cli, ["keys", "revoke", key[:10]])
    assert revoked.exit_code == 0
    assert '"revoked": true' in runner.invoke(cli, ["keys", "list", "--json"]).output


async def test_oversized_bodies_are_refused(api: httpx.AsyncClient) -> None:
    big = b"x" * (10 * 1024 * 1024 + 1)
    response = await api.post("/api/whoami", content=big)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/suites", "application/json"),
        ("/api/runs", "application/json"),
        ("/runs/new", "multipart/form-data; boundary=b"),  # the launch sheet's upload
    ],
)
async def test_a_chunked_body_over_the_limit_is_refused_with_413(
    api: httpx.AsyncClient, path: str, content_type: str
) -> None:
    """No Content-Length: the body is counted as it arrives, and a route that parses JSON
    or a form answers 413 too (POST /api/runs answered 400 from the failed parse)."""

    async def chunks() -> AsyncIterator[bytes]:
        if content_type.startswith("multipart"):
            yield b'--b\r\nContent-Disposition: form-data; name="dataset"; filename="d"\r\n\r\n'
        else:
            yield b'{"id": "'
        for _ in range(11):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await api.post(path, content=chunks(), headers={"Content-Type": content_type})
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "PayloadTooLarge"
    assert "content-length" not in {k.lower() for k in response.request.headers}


async def test_creating_the_first_key_hides_no_run(
    api: httpx.AsyncClient, store: Store, server: object
) -> None:
    """Runs recorded before keys existed (by the CLI, or in single-user mode) stay visible
    to the first key, whatever workspace name it asks for; later keys see only their own."""
    suite = yes_no_suite(3, server.base_url)  # type: ignore[attr-defined]
    before = [(await evalbook.arun(suite, store=store)).id for _ in range(2)]
    assert {r["id"] for r in (await api.get("/api/runs")).json()["items"]} == set(before)

    first, record = create_key(store, "ml-team", "ci")
    assert record.workspace_id == "default"
    other, _ = create_key(store, "other-team")
    as_first = {"Authorization": f"Bearer {first}"}
    as_other = {"Authorization": f"Bearer {other}"}

    listed = (await api.get("/api/runs", headers=as_first)).json()["items"]
    assert sorted(r["id"] for r in listed) == sorted(before)
    me = (await api.get("/api/whoami", headers=as_first)).json()
    assert me == {"workspace_id": "default", "workspace": "ml-team"}
    assert (await api.get(f"/api/runs/{before[0]}", headers=as_first)).status_code == 200
    # What the CLI records afterwards lands there too.
    after = (await evalbook.arun(suite, store=store, use_cache=False)).id
    listed = (await api.get("/api/runs", headers=as_first)).json()["items"]
    assert after in {r["id"] for r in listed}
    # The second key's workspace is another one: nothing of the above.
    assert (await api.get("/api/runs", headers=as_other)).json()["items"] == []
    assert (await api.get(f"/api/runs/{before[0]}", headers=as_other)).status_code == 404
    # "default" still names the default workspace, whatever it is called now.
    _, again = create_key(store, "default")
    assert again.workspace_id == "default"
    assert [k.id for k in list_keys(store, "default")] == [record.id, again.id]


def test_first_key_from_the_cli_says_where_earlier_runs_are(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--workspace", "ml"])
    assert created.exit_code == 0, created.output
    assert "is the default workspace" in created.stderr
    second = runner.invoke(cli, ["keys", "create", "--workspace", "other"])
    assert "default workspace" not in second.stderr
