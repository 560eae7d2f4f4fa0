"""Webhook subscriptions and their delivery log.

A delivery is written ``pending`` when a run finishes (one per subscribed webhook, unique
by ``(webhook, run, event)``, so a run that finishes twice — resumed, or its hook called
again — is never announced twice) and a delivery service sends it later: the worker that
finished the run never waits on someone else's HTTP endpoint.

Sending is claimed like a lease, so several servers sharing the database never send one
delivery at once: a claim bumps ``attempts`` and pushes ``next_attempt_at`` past the
attempt's time limit, conditionally on the row being unchanged since it was read. The
outcome is recorded only by the claimer of that attempt (``attempts`` still equal to
it); a server that dies mid-attempt leaves the row to be claimed again once the lease
runs out (at-least-once: receivers dedupe on the delivery id).

The signing secret is not here: it is derived from the server's key and the webhook id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from evalbook.errors import NotFoundError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "ClaimedDelivery",
    "Delivery",
    "Webhook",
    "claim_due",
    "create_webhook",
    "deactivate_webhook",
    "enqueue_deliveries",
    "get_delivery",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "record_attempt",
    "redeliver",
    "subscribed_webhooks",
]

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Webhook:
    id: str
    workspace_id: str
    url: str
    events: tuple[str, ...]
    allow_private: bool
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    run_id: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this process may attempt now (attempt number ``delivery.attempts``),
    with the target as its webhook says at claim time."""

    delivery: Delivery
    url: str
    allow_private: bool
    active: bool


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        workspace_id=row.workspace_id,
        url=row.url,
        events=tuple(row.events),
        allow_private=bool(row.allow_private),
        active=bool(row.active),
        created_at=as_utc(row.created_at),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        run_id=row.run_id,
        event=row.event,
        payload=dict(row.payload),
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=as_utc(row.next_attempt_at),
        created_at=as_utc(row.created_at),
        delivered_at=as_utc(row.delivered_at),
    )


# -- subscriptions ---------------------------------------------------------------------


def create_webhook(
    store: Store, workspace_id: str, url: str, events: Sequence[str], *, allow_private: bool
) -> Webhook:
    """Record a subscription (the caller has checked the URL and the workspace)."""
    hook = Webhook(
        id=str(uuid.uuid4()),
        workspace_id=workspace_id,
        url=url,
        events=tuple(events),
        allow_private=allow_private,
        active=True,
        created_at=_now(),
    )
    with store.write() as conn:
        conn.execute(
            sa.insert(t.webhooks).values(
                id=hook.id,
                workspace_id=workspace_id,
                url=url,
                events=list(hook.events),
                allow_private=allow_private,
                active=True,
                created_at=hook.created_at,
            )
        )
    return hook


def get_webhook(store: Store, workspace_id: str, webhook_id: str) -> Webhook:
    """The webhook, if it belongs to ``workspace_id`` (another workspace's is not found)."""
    w = t.webhooks.c
    query = sa.select(t.webhooks).where(w.id == webhook_id, w.workspace_id == workspace_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no webhook {webhook_id!r}")
    return _webhook(row)


def list_webhooks(store: Store, workspace_id: str) -> list[Webhook]:
    """The workspace's webhooks, deactivated ones included (their log stays readable)."""
    w = t.webhooks.c
    query = sa.select(t.webhooks).where(w.workspace_id == workspace_id).order_by(w.created_at)
    with store.engine.connect() as conn:
        return [_webhook(row) for row in conn.execute(query)]


def deactivate_webhook(store: Store, webhook_id: str) -> None:
    """Stop sending to it (deleting would lose its delivery log)."""
    with store.write() as conn:
        conn.execute(
            sa.update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(active=False)
        )


def subscribed_webhooks(store: Store, workspace_id: str, event: str) -> list[Webhook]:
    """Active webhooks of the workspace that want ``event``."""
    w = t.webhooks.c
    query = sa.select(t.webhooks).where(w.workspace_id == workspace_id, w.active.is_(True))
    with store.engine.connect() as conn:
        hooks = [_webhook(row) for row in conn.execute(query)]
    return [hook for hook in hooks if event in hook.events]


# -- deliveries ------------------------------------------------------------------------


def enqueue_deliveries(
    store: Store, run_id: str, event: str, payloads: Sequence[tuple[str, dict[str, Any]]]
) -> int:
    """Write a pending delivery per ``(webhook_id, payload)``, due now; one that exists
    already for the same webhook, run and event is left alone. Returns how many were new."""
    if not payloads:
        return 0
    now = _now()
    rows = [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": webhook_id,
            "run_id": run_id,
            "event": event,
            "payload": payload,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for webhook_id, payload in payloads
    ]
    insert = (
        store.insert(t.webhook_deliveries)
        .on_conflict_do_nothing()
        .returning(t.webhook_deliveries.c.id)
    )
    with store.write() as conn:
        return len(conn.execute(insert, rows).all())  # only the rows actually inserted


def claim_due(store: Store, *, limit: int, lease_s: float) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries for one attempt each: ``attempts`` goes up by
    one and the row is not due again for ``lease_s`` (the attempt records its outcome
    before then, or the attempt is presumed lost and the delivery is claimed again)."""
    if limit < 1:
        return []
    d, w = t.webhook_deliveries.c, t.webhooks.c
    now = _now()
    due = (
        sa.select(d.id, d.attempts)
        .where(d.status == PENDING, d.next_attempt_at <= now)
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:  # most polls find nothing: no write lock for them
        if not conn.execute(due).first():
            return []
    if store.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with store.write() as conn:
        taken = []
        for row in conn.execute(due).all():
            bumped = conn.execute(
                sa.update(t.webhook_deliveries)
                .where(d.id == row.id, d.status == PENDING, d.attempts == row.attempts)
                .values(
                    attempts=row.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=lease_s),
                )
            )
            if bumped.rowcount == 1:
                taken.append(row.id)
        if not taken:
            return []
        rows = conn.execute(
            sa.select(t.webhook_deliveries, w.url, w.allow_private, w.active)
            .join(t.webhooks, w.id == d.webhook_id)
            .where(d.id.in_(taken))
            .order_by(d.next_attempt_at, d.id)
        ).all()
    return [
        ClaimedDelivery(_delivery(row), row.url, bool(row.allow_private), bool(row.active))
        for row in rows
    ]


def record_attempt(
    store: Store,
    delivery_id: str,
    attempt: int,
    *,
    status_code: int | None,
    error: str | None,
    delivered: bool = False,
    retry_at: datetime | None = None,
) -> bool:
    """Record how attempt number ``attempt`` went: ``delivered``, else pending again at
    ``retry_at``, else failed for good. False when the attempt was no longer this
    caller's to record (the delivery was re-sent or claimed again meanwhile)."""
    d = t.webhook_deliveries.c
    values: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
    if delivered:
        values.update(status=DELIVERED, delivered_at=_now(), next_attempt_at=None)
    elif retry_at is not None:
        values.update(status=PENDING, next_attempt_at=retry_at)
    else:
        values.update(status=FAILED, next_attempt_at=None)
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.webhook_deliveries)
            .where(d.id == delivery_id, d.attempts == attempt, d.status == PENDING)
            .values(**values)
        )
    return result.rowcount == 1


def list_deliveries(
    store: Store, webhook_id: str, *, limit: int = 50, offset: int = 0
) -> list[Delivery]:
    """The delivery log of a webhook, newest first."""
    d = t.webhook_deliveries.c
    query = (
        sa.select(t.webhook_deliveries)
        .where(d.webhook_id == webhook_id)
        .order_by(d.created_at.desc(), d.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with store.engine.connect() as conn:
        return [_delivery(row) for row in conn.execute(query)]


def get_delivery(store: Store, webhook_id: str, delivery_id: str) -> Delivery:
    d = t.webhook_deliveries.c
    query = sa.select(t.webhook_deliveries).where(d.id == delivery_id, d.webhook_id == webhook_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
    return _delivery(row)


def redeliver(store: Store, webhook_id: str, delivery_id: str) -> Delivery:
    """Send a delivery again, now, with a fresh count of attempts (the same id and body,
    so a receiver that already has it can tell)."""
    d = t.webhook_deliveries.c
    with store.write() as conn:
        result = conn.execute(
            sa.update(t.webhook_deliveries)
            .where(d.id == delivery_id, d.webhook_id == webhook_id)
            .values(status=PENDING, attempts=0, next_attempt_at=_now(), delivered_at=None)
        )
    if result.rowcount != 1:
        raise NotFoundError(f"no delivery {delivery_id!r} of webhook {webhook_id!r}")
    return get_delivery(store, webhook_id, delivery_id)
