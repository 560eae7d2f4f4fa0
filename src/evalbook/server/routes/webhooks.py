"""Webhooks of a workspace: subscribe a URL to ``eval.completed``, read the delivery log,
send a delivery again.

The signing secret is in the creation answer only (it is derived from the server's key,
never stored). Targets must be public addresses — checked here and again at every
delivery; see ``worker/webhook_targets.py``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from evalbook.errors import ConfigError
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.state import server_state
from evalbook.storage import webhooks as store_hooks
from evalbook.storage.webhooks import Delivery, Webhook
from evalbook.webhooks.delivery import EVAL_COMPLETED
from evalbook.webhooks.signing import webhook_secret
from evalbook.webhooks.targets import resolve_target

router = APIRouter(tags=["webhooks"])

EventName = Literal["eval.completed"]


class WebhookCreate(BaseModel):
    """A subscription request."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: Annotated[list[EventName], Field(min_length=1)] = [EVAL_COMPLETED]
    #: Allow loopback/private targets (the server must allow it too).
    allow_private: bool = False


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    allow_private: bool
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, hook: Webhook) -> WebhookOut:
        return cls(
            id=hook.id,
            url=hook.url,
            events=list(hook.events),
            allow_private=hook.allow_private,
            active=hook.active,
            created_at=hook.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (X-Evalbook-Signature). Shown only now: keep it."
    )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    run_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            run_id=delivery.run_id,
            event=delivery.event,
            status=delivery.status,
            attempts=delivery.attempts,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            payload=delivery.payload,
        )


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    #: Pass as ``offset`` for the next (older) page; null on the last page.
    next_offset: int | None


@router.post("/api/webhooks", status_code=201)
async def create_webhook(
    body: WebhookCreate, request: Request, workspace: CurrentWorkspace
) -> WebhookCreated:
    """Subscribe ``url``; the answer holds the signing secret, shown this once."""
    state = server_state(request)
    if body.allow_private and not state.settings.allow_private_webhooks:
        raise ConfigError(
            "allow_private webhooks are disabled on this server (start it with"
            " allow_private_webhooks to send to loopback or private addresses)"
        )
    await resolve_target(body.url, allow_private=body.allow_private)
    events = list(dict.fromkeys(body.events))
    hook = await asyncio.to_thread(
        store_hooks.create_webhook,
        state.store,
        workspace.id,
        body.url,
        events,
        allow_private=body.allow_private,
    )
    secret = await asyncio.to_thread(webhook_secret, hook.id)
    return WebhookCreated(**WebhookOut.of(hook).model_dump(), secret=secret)


@router.get("/api/webhooks")
def list_webhooks(request: Request, workspace: CurrentWorkspace) -> WebhookList:
    """The workspace's webhooks, deactivated ones included."""
    hooks = store_hooks.list_webhooks(server_state(request).store, workspace.id)
    return WebhookList(webhooks=[WebhookOut.of(hook) for hook in hooks])


@router.get("/api/webhooks/{webhook_id}")
def get_webhook(webhook_id: str, request: Request, workspace: CurrentWorkspace) -> WebhookOut:
    hook = store_hooks.get_webhook(server_state(request).store, workspace.id, webhook_id)
    return WebhookOut.of(hook)


@router.delete("/api/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, request: Request, workspace: CurrentWorkspace) -> Response:
    """Deactivate: nothing more is sent (pending deliveries fail); the log stays."""
    store = server_state(request).store
    store_hooks.get_webhook(store, workspace.id, webhook_id)
    store_hooks.deactivate_webhook(store, webhook_id)
    return Response(status_code=204)


@router.get("/api/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    request: Request,
    workspace: CurrentWorkspace,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DeliveryPage:
    """The delivery log, newest first: status, attempts, the last answer or error."""
    store = server_state(request).store
    store_hooks.get_webhook(store, workspace.id, webhook_id)
    page = store_hooks.list_deliveries(store, webhook_id, limit=limit + 1, offset=offset)
    return DeliveryPage(
        deliveries=[DeliveryOut.of(d) for d in page[:limit]],
        next_offset=offset + limit if len(page) > limit else None,
    )


@router.post("/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(
    webhook_id: str, delivery_id: str, request: Request, workspace: CurrentWorkspace
) -> DeliveryOut:
    """Send a delivery again (same id and body, fresh attempts), as soon as possible."""
    store = server_state(request).store
    hook = store_hooks.get_webhook(store, workspace.id, webhook_id)
    if not hook.active:
        raise HTTPException(409, "the webhook is deactivated; create a new one")
    return DeliveryOut.of(store_hooks.redeliver(store, webhook_id, delivery_id))
