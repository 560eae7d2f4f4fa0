"""Webhooks: tell subscribed URLs that a run finished (``eval.completed``).

Two halves, so that a slow or dead receiver never holds up a run:

- :func:`webhook_hook` is an ``on_finished`` hook of the worker pool. When a run ends
  ``completed`` or ``failed`` (not ``canceled``: a person stopped it) it only writes a
  pending delivery per subscribed webhook — one row each, unique by webhook, run and
  event, so a run finishing twice is announced once.
- :func:`deliver_forever` is a server service that claims due deliveries (a lease in the
  database, so servers sharing it never double-send), POSTs them, signed, and records
  each attempt: 2xx is delivered; anything else is retried with exponential backoff and
  jitter up to ``max_attempts``, then failed. ``410 Gone`` deactivates the webhook.

Every attempt re-checks the target (``webhook_targets``) and sends the same body under
the same ``X-Evalbook-Delivery`` id, so receivers can deduplicate; the signature and its
timestamp are fresh per attempt (``webhook_signing``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from evalbook._version import __version__
from evalbook.core.run import RunRecord, RunStatus
from evalbook.plain_text import get_logger
from evalbook.storage import webhooks as hooks
from evalbook.storage.store import Store
from evalbook.webhooks.signing import server_key, signature_header, webhook_secret
from evalbook.webhooks.targets import TargetRefused, resolve_target

__all__ = [
    "EVAL_COMPLETED",
    "EVENTS",
    "completed_payload",
    "deliver_forever",
    "enqueue_completed",
    "webhook_hook",
]

log = get_logger("evalbook.webhooks")

EVAL_COMPLETED: Final = "eval.completed"
#: The events a webhook can subscribe to.
EVENTS = (EVAL_COMPLETED,)
_ANNOUNCED = (RunStatus.completed, RunStatus.failed)


# -- enqueue (on the worker's path: one write, no network) -----------------------------


def completed_payload(run: RunRecord, base_url: str) -> dict[str, Any]:
    """The ``eval.completed`` body: what a receiver needs to act without calling back."""
    counts = run.counts
    return {
        "event": EVAL_COMPLETED,
        "evalId": run.id,
        "status": run.status.value,
        "passRate": counts.passed / counts.total if counts.total else None,
        "summary": {
            "score": run.score,
            "passed": run.passed,
            "threshold": run.threshold,
            "counts": counts.model_dump(mode="json"),
            "cost": run.cost,
            "durationMs": run.duration_ms,
            "errorRate": run.error_rate,
            "stopReason": run.stop_reason,
            "suite": {"id": run.suite_id, "name": run.suite_name, "version": run.suite_version},
            "model": {key: run.model.get(key) for key in ("provider", "name", "version")},
            "prompt": run.prompt_name,
            "promptVersion": run.prompt_version,
            "alias": run.alias,
            "label": run.label,
            "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
        },
        "runUrl": f"{base_url.rstrip('/')}/api/runs/{run.id}",
    }


def _enqueue(store: Store, run: RunRecord, base_url: str) -> int:
    subscribed = hooks.subscribed_webhooks(store, run.workspace_id, EVAL_COMPLETED)
    if not subscribed:
        return 0
    payload = completed_payload(run, base_url)
    return hooks.enqueue_deliveries(
        store, run.id, EVAL_COMPLETED, [(hook.id, payload) for hook in subscribed]
    )


async def enqueue_completed(store: Store, run: RunRecord, base_url: str) -> int:
    """Write the ``eval.completed`` deliveries of a run that ended completed or failed;
    returns how many were new (0 when the run was announced already)."""
    if run.status not in _ANNOUNCED:
        return 0
    return await asyncio.to_thread(_enqueue, store, run, base_url)


def webhook_hook(store: Store, base_url: str) -> Callable[[RunRecord], Awaitable[None]]:
    """An ``on_finished`` hook for the worker pool (``base_url``: how clients reach the
    server, for the run link). It never raises: a failure to enqueue is logged."""

    async def announce(run: RunRecord) -> None:
        try:
            await enqueue_completed(store, run, base_url)
        except Exception:
            log.exception("run %s: enqueueing its webhooks failed", run.id)

    return announce


# -- delivery (a server service) -------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    key: bytes
    allow_private: bool
    max_attempts: int
    base_delay_s: float
    max_delay_s: float
    timeout_s: float


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410


async def deliver_forever(
    store: Store,
    stop: asyncio.Event,
    *,
    poll_s: float = 0.5,
    max_attempts: int = 8,
    base_delay_s: float = 1.0,
    max_delay_s: float = 3600.0,
    timeout_s: float = 10.0,
    concurrency: int = 8,
    allow_private: bool = False,
) -> None:
    """Send due deliveries until ``stop`` is set, ``concurrency`` at a time.

    ``allow_private``: the server permits private targets for webhooks that asked for
    them (``ServerSettings.allow_private_webhooks``). Attempts still in flight when
    stopping get ``timeout_s`` to finish; one cut short is claimed again later."""
    try:
        key = await asyncio.to_thread(server_key)
    except Exception:
        log.exception("webhook deliveries are off: no usable signing key")
        return
    policy = _Policy(key, allow_private, max_attempts, base_delay_s, max_delay_s, timeout_s)
    lease_s = timeout_s + 30.0  # an attempt (and its record) always ends before this
    inflight: set[asyncio.Task[None]] = set()
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            if len(inflight) >= concurrency:
                await asyncio.wait({stopped, *inflight}, return_when=asyncio.FIRST_COMPLETED)
                continue
            free = concurrency - len(inflight)
            claimed: list[hooks.ClaimedDelivery] = []
            try:
                claimed = await asyncio.to_thread(
                    hooks.claim_due, store, limit=free, lease_s=lease_s
                )
            except Exception:
                log.exception("claiming webhook deliveries failed")
            for item in claimed:
                task = asyncio.create_task(_attempt(store, item, policy))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
            if len(claimed) < free:  # nothing more is due: wait for the next poll
                await asyncio.wait({stopped}, timeout=poll_s)
    finally:
        stopped.cancel()
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=timeout_s)
            for task in late:
                task.cancel()


async def _attempt(store: Store, item: hooks.ClaimedDelivery, policy: _Policy) -> None:
    delivery = item.delivery
    try:
        if not item.active:
            outcome = _Outcome(error="the webhook was deleted")
        else:
            outcome = await _send(item, policy)
        final = outcome.delivered or outcome.gone or not item.active
        retry_at = None
        if not final and delivery.attempts < policy.max_attempts:
            delay = _backoff_s(delivery.attempts, policy, outcome.retry_after_s)
            retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        if outcome.gone:
            await asyncio.to_thread(hooks.deactivate_webhook, store, delivery.webhook_id)
            log.info("webhook %s answered 410 Gone: deactivated", delivery.webhook_id)
        recorded = await asyncio.to_thread(
            hooks.record_attempt,
            store,
            delivery.id,
            delivery.attempts,
            status_code=outcome.status_code,
            error=outcome.error,
            delivered=outcome.delivered,
            retry_at=retry_at,
        )
        if recorded and not outcome.delivered:
            log.info(
                "webhook delivery %s attempt %d: %s%s",
                delivery.id,
                delivery.attempts,
                outcome.error or outcome.status_code,
                "" if retry_at else " (giving up)",
            )
    except Exception:  # the lease expires and the delivery is tried again
        log.exception("webhook delivery %s: attempt failed unexpectedly", delivery.id)


def _backoff_s(attempt: int, policy: _Policy, retry_after_s: float | None) -> float:
    """Exponential (base × 2^(attempt-1), capped), with jitter so that deliveries failing
    together do not retry together; at least the receiver's ``Retry-After``."""
    delay = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, policy.max_delay_s))
    return delay


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


async def _send(item: hooks.ClaimedDelivery, policy: _Policy) -> _Outcome:
    """One attempt, DNS included, within ``timeout_s``."""
    try:
        async with asyncio.timeout(policy.timeout_s):
            return await _post(item, policy)
    except TimeoutError:
        return _Outcome(error=f"timed out after {policy.timeout_s:g}s")


async def _post(item: hooks.ClaimedDelivery, policy: _Policy) -> _Outcome:
    delivery = item.delivery
    try:
        target = await resolve_target(
            item.url, allow_private=item.allow_private and policy.allow_private
        )
    except TargetRefused as exc:
        return _Outcome(error=str(exc))
    body = _body(delivery.payload)
    timestamp = str(int(time.time()))
    secret = webhook_secret(delivery.webhook_id, policy.key)
    headers = {
        "Host": target.host,
        "Content-Type": "application/json",
        "User-Agent": f"evalbook-webhooks/{__version__}",
        "X-Evalbook-Event": delivery.event,
        "X-Evalbook-Delivery": delivery.id,
        "X-Evalbook-Timestamp": timestamp,
        "X-Evalbook-Signature": signature_header(secret, timestamp, body),
    }
    extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
    client = httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False, trust_env=False)
    try:
        async with (
            client,
            client.stream(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            code = response.status_code
            if 200 <= code < 300:
                return _Outcome(status_code=code)
            return _Outcome(
                status_code=code,
                error=await _describe(response),
                retry_after_s=_retry_after(response),
            )
    except httpx.HTTPError as exc:
        return _Outcome(error=f"{type(exc).__name__}: {exc}".rstrip(": "))


async def _describe(response: httpx.Response, limit: int = 300) -> str:
    if response.is_redirect:
        where = response.headers.get("location", "?")
        return f"HTTP {response.status_code} redirect to {where} (redirects are not followed)"
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= limit:
            break
    text = head[:limit].decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
