"""Webhook delivery to a real local HTTP receiver, on SQLite and PostgreSQL: signed,
once per finished run, retried with backoff, given up on, never sent to a private
address the server does not allow, and never on the worker's path."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from evalbook.api import arun
from evalbook.core.run import RunRecord, RunStatus
from evalbook.server.services import webhook_service
from evalbook.storage import webhooks as store_hooks
from evalbook.storage.store import Store
from evalbook.storage.webhooks import Delivery, Webhook
from evalbook.storage.workspaces import ensure_workspace
from evalbook.webhooks.delivery import deliver_forever, enqueue_completed, webhook_hook
from evalbook.webhooks.signing import verify_signature, webhook_secret

from ..server.live import Received, closed_port, live_server, receiver
from ..server.test_events import echo_suite
from ..worker.helpers import queued_run, running_pool, wait_for

BASE = "http://evalbook.test"


@asynccontextmanager
async def delivering(store: Store, **options: Any) -> AsyncIterator[None]:
    """The delivery service with zero backoff and fast polls, stopped at the end."""
    stop = asyncio.Event()
    settings = {"poll_s": 0.02, "base_delay_s": 0.0, "timeout_s": 5.0, "allow_private": True}
    task = asyncio.create_task(deliver_forever(store, stop, **{**settings, **options}))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def subscribe(store: Store, url: str, *, workspace: str = "default") -> Webhook:
    workspace_id = ensure_workspace(store, workspace).id
    return store_hooks.create_webhook(
        store, workspace_id, url, ["eval.completed"], allow_private=True
    )


def webhook_of(store: Store, webhook_id: str) -> Webhook:
    return store_hooks.get_webhook(store, "default", webhook_id)


def only_delivery(store: Store, hook: Webhook) -> Delivery:
    (delivery,) = store_hooks.list_deliveries(store, hook.id)
    return delivery


def settled(store: Store, hook: Webhook) -> bool:
    deliveries = store_hooks.list_deliveries(store, hook.id)
    return bool(deliveries) and all(d.status != "pending" for d in deliveries)


def assert_signed(request: Received, secret: str) -> None:
    stamp = request.headers["x-evalbook-timestamp"]
    signature = request.headers["x-evalbook-signature"]
    assert verify_signature(secret, stamp, request.body, signature)
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
    assert signature == f"v1={mac.hexdigest()}"  # what a receiver without evalbook checks
    assert abs(int(stamp) - time.time()) < 60


async def test_a_finished_run_is_delivered_once_and_signed(store: Store) -> None:
    run = await arun(echo_suite(3), store=store)
    with (
        receiver() as rx,
        live_server(store, services=(webhook_service,), allow_private_webhooks=True) as base,
    ):
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            created = await client.post(
                "/api/webhooks",
                json={"url": rx.url, "events": ["eval.completed"], "allow_private": True},
            )
            assert created.status_code == 201, created.text
            hook = created.json()
            announce = webhook_hook(store, base)
            await announce(run)
            await announce(run)  # a resumed run that finishes again is not announced again
            await wait_for(lambda: len(rx.requests) == 1)
            await asyncio.sleep(0.3)  # time for a (wrong) second request to arrive
            await wait_for(lambda: settled(store, webhook_of(store, hook["id"])))
            log = await client.get(f"/api/webhooks/{hook['id']}/deliveries")
            page = log.json()["deliveries"]

    (request,) = rx.requests
    (entry,) = page
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["last_status_code"] == 200 and entry["delivered_at"] is not None
    assert request.path == "/hooks/evalbook"
    assert request.headers["x-evalbook-event"] == "eval.completed"
    assert request.headers["x-evalbook-delivery"] == entry["id"]
    assert request.headers["content-type"] == "application/json"
    assert_signed(request, hook["secret"])

    body = request.json()
    assert body["event"] == "eval.completed" and body["evalId"] == run.id
    assert body["status"] == "completed"
    assert body["passRate"] == run.counts.passed / run.counts.total == 2 / 3
    assert body["runUrl"] == f"{base}/api/runs/{run.id}"
    summary = body["summary"]
    assert summary["score"] == run.score and summary["threshold"] == 0.5
    assert summary["counts"]["total"] == 3 and summary["passed"] is True
    assert summary["suite"]["id"] == "echo" and summary["model"]["provider"] == "mock"
    assert summary["promptVersion"] == run.prompt_version
    assert "durationMs" in summary and "cost" in summary
    assert body == entry["payload"]


async def test_a_failing_receiver_gets_retries_until_it_answers(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    with receiver([500, 503]) as rx:
        hook = subscribe(store, rx.url)
        assert await enqueue_completed(store, run, BASE) == 1
        async with delivering(store, max_attempts=5):
            await wait_for(lambda: settled(store, hook))
    delivery = only_delivery(store, hook)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert delivery.last_status_code == 200 and delivery.last_error is None
    assert len(rx.requests) == 3
    assert {r.headers["x-evalbook-delivery"] for r in rx.requests} == {delivery.id}
    assert len({r.body for r in rx.requests}) == 1  # the same body every time
    for request in rx.requests:
        assert_signed(request, webhook_secret(hook.id))


async def test_a_receiver_that_keeps_failing_is_given_up_on(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    with receiver([500] * 10) as rx:
        hook = subscribe(store, rx.url)
        await enqueue_completed(store, run, BASE)
        async with delivering(store, max_attempts=2):
            await wait_for(lambda: settled(store, hook))
    delivery = only_delivery(store, hook)
    assert delivery.status == "failed" and delivery.attempts == 2 == len(rx.requests)
    assert delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500: receiver says no"


async def test_an_unreachable_receiver_fails_after_max_attempts(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    hook = subscribe(store, f"http://127.0.0.1:{closed_port()}/hook")
    await enqueue_completed(store, run, BASE)
    async with delivering(store, max_attempts=3):
        await wait_for(lambda: settled(store, hook))
    delivery = only_delivery(store, hook)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.last_status_code is None
    assert delivery.last_error is not None and "ConnectError" in delivery.last_error


async def test_gone_deactivates_the_webhook(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    with receiver([410]) as rx:
        hook = subscribe(store, rx.url)
        await enqueue_completed(store, run, BASE)
        async with delivering(store, max_attempts=5):
            await wait_for(lambda: settled(store, hook))
    delivery = only_delivery(store, hook)
    assert delivery.status == "failed" and delivery.attempts == 1 == len(rx.requests)
    assert not store_hooks.get_webhook(store, "default", hook.id).active
    later = run.model_copy(update={"id": "another-run"})
    assert await enqueue_completed(store, later, BASE) == 0


async def test_private_targets_are_checked_again_at_delivery(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    with receiver() as rx:
        hook = subscribe(store, rx.url)  # allowed when created; this server does not allow it
        await enqueue_completed(store, run, BASE)
        async with delivering(store, max_attempts=2, allow_private=False):
            await wait_for(lambda: settled(store, hook))
    delivery = only_delivery(store, hook)
    assert rx.requests == []
    assert delivery.status == "failed" and "not a public address" in (delivery.last_error or "")


async def test_only_completed_and_failed_runs_are_announced(store: Store) -> None:
    run = await arun(echo_suite(2), store=store)
    hook = subscribe(store, "http://127.0.0.1:9/hook")
    other = subscribe(store, "http://127.0.0.1:9/other", workspace="elsewhere")
    canceled = run.model_copy(update={"status": RunStatus.canceled})
    assert await enqueue_completed(store, canceled, BASE) == 0
    failed = run.model_copy(update={"status": RunStatus.failed})
    assert await enqueue_completed(store, failed, BASE) == 1
    assert await enqueue_completed(store, failed, BASE) == 0
    assert only_delivery(store, hook).payload["status"] == "failed"
    assert store_hooks.list_deliveries(store, other.id) == []


def test_concurrent_claimers_never_share_a_delivery(store: Store) -> None:
    hook = subscribe(store, "http://127.0.0.1:9/hook")
    for i in range(20):
        store_hooks.enqueue_deliveries(store, f"run-{i}", "eval.completed", [(hook.id, {"n": i})])
    won: list[str] = []
    lock = threading.Lock()

    def claimer() -> None:
        while claimed := store_hooks.claim_due(store, limit=3, lease_s=30):
            with lock:
                won.extend(c.delivery.id for c in claimed)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == len(set(won)) == 20
    # A claim is a lease: nothing is due again until it runs out or the outcome is written.
    assert store_hooks.claim_due(store, limit=20, lease_s=30) == []
    first = won[0]
    assert store_hooks.record_attempt(store, first, 1, status_code=500, error="x", retry_at=None)
    assert not store_hooks.record_attempt(store, first, 1, status_code=200, error=None)


async def test_the_worker_pool_hook_enqueues_and_never_waits_for_the_receiver(
    store: Store,
) -> None:
    with receiver() as rx:
        hook = subscribe(store, rx.url)
        run_id = queued_run(store, echo_suite(3))
        finished: list[RunRecord] = []
        announce = webhook_hook(store, BASE)

        async def recorded(run: RunRecord) -> None:
            started = time.monotonic()
            await announce(run)
            assert time.monotonic() - started < 2  # a write, not an HTTP call
            finished.append(run)

        async with running_pool(store, on_finished=(recorded,)):
            await wait_for(lambda: bool(finished))
        assert rx.requests == [] and only_delivery(store, hook).status == "pending"
        async with delivering(store):
            await wait_for(lambda: settled(store, hook))
    (request,) = rx.requests
    assert request.json()["evalId"] == run_id
    assert request.json()["runUrl"] == f"{BASE}/api/runs/{run_id}"


async def test_the_service_stops_promptly(store: Store) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(deliver_forever(store, stop, poll_s=10))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 1
