"""Webhook subscriptions over the API: the secret shown once and stored nowhere, private
targets refused, the delivery log and redelivery, workspaces kept apart."""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import httpx
import pytest

from evalbook.errors import ConfigError
from evalbook.server import ServerSettings, create_app
from evalbook.server.routes.webhooks import EventName
from evalbook.storage import tables
from evalbook.storage import webhooks as store_hooks
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key
from evalbook.webhooks.delivery import EVENTS
from evalbook.webhooks.signing import (
    KEY_ENV,
    server_key,
    signature_header,
    verify_signature,
    webhook_secret,
)
from evalbook.webhooks.targets import address_refusal

PUBLIC = "http://93.184.215.14/hooks"  # an IP literal: no DNS needed


@pytest.fixture
async def private_api(store: Store) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server that allows private webhook targets when a webhook asks."""
    settings = ServerSettings(worker=False, allow_private_webhooks=True)
    app = create_app(settings, store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_create_shows_the_secret_once_and_lists_without_it(
    api: httpx.AsyncClient, store: Store
) -> None:
    created = await api.post("/api/webhooks", json={"url": PUBLIC, "events": ["eval.completed"]})
    assert created.status_code == 201, created.text
    hook = created.json()
    secret = hook.pop("secret")
    assert secret == webhook_secret(hook["id"]) and secret.startswith("whsec_")
    assert hook["events"] == ["eval.completed"] and hook["active"] is True
    assert hook["allow_private"] is False

    listed = (await api.get("/api/webhooks")).json()["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    one = await api.get(f"/api/webhooks/{hook['id']}")
    assert one.json()["url"] == PUBLIC and "secret" not in one.json()

    assert (await api.delete(f"/api/webhooks/{hook['id']}")).status_code == 204
    assert (await api.get(f"/api/webhooks/{hook['id']}")).json()["active"] is False
    assert (await api.get("/api/webhooks/nope")).status_code == 404

    with store.engine.connect() as conn:
        everything = [
            repr(row)
            for table in tables.metadata.sorted_tables
            for row in conn.execute(table.select())
        ]
    assert secret not in str(everything) and secret[6:] not in str(everything)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:9/hook",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://192.168.1.20:8080/",
        "http://[fd00::1]/",
        "http://224.0.0.1/",
    ],
)
async def test_private_targets_are_refused(
    api: httpx.AsyncClient, private_api: httpx.AsyncClient, url: str
) -> None:
    refused = await api.post("/api/webhooks", json={"url": url})
    assert refused.status_code == 422, refused.text
    assert "public address" in refused.json()["detail"]
    # A server that allows private targets still refuses them unless the webhook asks.
    assert (await private_api.post("/api/webhooks", json={"url": url})).status_code == 422


async def test_allow_private_needs_the_server_flag(
    api: httpx.AsyncClient, private_api: httpx.AsyncClient
) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "allow_private": True}
    off = await api.post("/api/webhooks", json=body)
    assert off.status_code == 422 and "allow_private" in off.json()["detail"]
    on = await private_api.post("/api/webhooks", json=body)
    assert on.status_code == 201 and on.json()["allow_private"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://93.184.215.14/x"},
        {"url": "http://user:pw@93.184.215.14/x"},
        {"url": "/relative"},
        {"url": PUBLIC, "events": ["eval.started"]},
        {"url": PUBLIC, "events": []},
        {"url": PUBLIC, "allow_private": "yes"},
        {"url": PUBLIC, "secret": "mine"},
        {"url": "http://no-such-host.invalid/"},
    ],
)
async def test_bad_requests_are_refused(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    assert (await api.post("/api/webhooks", json=body)).status_code == 422


def test_the_event_names_agree() -> None:
    assert get_args(EventName) == EVENTS


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("100.64.0.1", "not globally routable"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:10.1.2.3", "private"),
        ("2002:7f00:0001::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("240.0.0.1", "any"),  # reserved (private, by Python's table)
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
    ],
)
def test_address_refusals(address: str, reason: str | None) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal == reason or (reason == "any" and refusal is not None)


async def test_webhooks_belong_to_their_workspace(store: Store) -> None:
    key_a, _ = create_key(store, "team-a")
    key_b, _ = create_key(store, "team-b")
    app = create_app(ServerSettings(worker=False), store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            a = {"Authorization": f"Bearer {key_a}"}
            b = {"Authorization": f"Bearer {key_b}"}
            hook = (await client.post("/api/webhooks", json={"url": PUBLIC}, headers=a)).json()
            assert (await client.get("/api/webhooks", headers=b)).json()["webhooks"] == []
            for path in ("", "/deliveries"):
                url = f"/api/webhooks/{hook['id']}{path}"
                assert (await client.get(url, headers=b)).status_code == 404
                assert (await client.get(url, headers=a)).status_code == 200
            assert (
                await client.delete(f"/api/webhooks/{hook['id']}", headers=b)
            ).status_code == 404


async def test_delivery_log_pages_and_redelivery(api: httpx.AsyncClient, store: Store) -> None:
    hook = (await api.post("/api/webhooks", json={"url": PUBLIC})).json()
    for i in range(5):
        store_hooks.enqueue_deliveries(
            store, f"run-{i}", "eval.completed", [(hook["id"], {"n": i})]
        )
    first = (await api.get(f"/api/webhooks/{hook['id']}/deliveries", params={"limit": 3})).json()
    assert len(first["deliveries"]) == 3 and first["next_offset"] == 3
    rest = await api.get(f"/api/webhooks/{hook['id']}/deliveries", params={"limit": 3, "offset": 3})
    assert len(rest.json()["deliveries"]) == 2 and rest.json()["next_offset"] is None
    ids = {d["id"] for d in first["deliveries"] + rest.json()["deliveries"]}
    assert len(ids) == 5

    one = first["deliveries"][0]
    assert one["status"] == "pending" and one["attempts"] == 0 and one["payload"]["n"] >= 0
    (claimed,) = [
        c for c in store_hooks.claim_due(store, limit=5, lease_s=30) if c.delivery.id == one["id"]
    ]
    store_hooks.record_attempt(store, one["id"], 1, status_code=500, error="HTTP 500")
    again = await api.post(f"/api/webhooks/{hook['id']}/deliveries/{one['id']}/redeliver")
    assert again.status_code == 202
    assert again.json()["status"] == "pending" and again.json()["attempts"] == 0
    assert claimed.url == PUBLIC
    missing = await api.post(f"/api/webhooks/{hook['id']}/deliveries/nope/redeliver")
    assert missing.status_code == 404
    await api.delete(f"/api/webhooks/{hook['id']}")
    gone = await api.post(f"/api/webhooks/{hook['id']}/deliveries/{one['id']}/redeliver")
    assert gone.status_code == 409


def test_the_server_key_is_made_once_private_and_overridable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = server_key()
    path = Path(os.environ["EVALBOOK_HOME"]) / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server_key() == key and len(key) >= 32
    assert webhook_secret("w1") == webhook_secret("w1") != webhook_secret("w2")
    monkeypatch.setenv(KEY_ENV, "k" * 40)
    assert server_key() == b"k" * 40 and webhook_secret("w1", key) != webhook_secret("w1")
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least"):
        server_key()


def test_verify_signature() -> None:
    secret, body, now = "whsec_test", b'{"event":"eval.completed"}', 1_700_000_000
    header = signature_header(secret, now, body)
    assert verify_signature(secret, str(now), body, header, now=now + 10)
    assert verify_signature(secret, now, body.decode(), f"v1=dead, {header}", now=now)
    assert not verify_signature(secret, now, body + b" ", header, now=now)
    assert not verify_signature("whsec_other", now, body, header, now=now)
    assert not verify_signature(secret, now, body, header, now=now + 301)
    assert not verify_signature(secret, "soon", body, header, now=now)
    assert not verify_signature(secret, now, body, header.replace("v1=", "v0="), now=now)
