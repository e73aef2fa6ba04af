"""/v1/webhooks: the tenant's webhook subscriptions, the delivery log and replays.

The signature scheme, the event bodies and the retry schedule are in
docs/erp-webhooks.md; outbound/erp_webhooks does the queueing and the sending."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outbound.erp_webhooks.delivery_log import Attempt, Delivery, list_deliveries, replay_delivery
from outbound.erp_webhooks.event_types import DESCRIPTIONS, WebhookEventType
from outbound.erp_webhooks.subscriptions import (
    Subscription,
    create_subscription,
    disable_subscription,
    list_subscriptions,
)
from outbound.erp_webhooks.targets import literal_private
from schemas.bounds import ApiModel
from services.api.deps import RuntimeDep, require
from services.api.errors import ApiError, ErrorResponse, field_error
from services.api.keys import Principal, Role

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
RESPONSES: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (404, 422)}
ManagerPrincipal = Annotated[Principal, Depends(require(Role.erp, Role.operator))]
LogReaderPrincipal = Annotated[Principal, Depends(require(Role.erp, Role.operator, Role.auditor))]
SubscriptionId = Annotated[str, Path(pattern=r"^whs-[0-9a-f]{24}$", max_length=40)]


class SubscriptionIn(ApiModel):
    """Body of POST /v1/webhooks/subscriptions."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "url": "https://erp.example.fr/hooks/recouvre",
                    "event_types": ["payment.recorded", "case.closed"],
                    "description": "ERP: lettrage des encaissements",
                }
            ]
        },
    )

    url: str = Field(min_length=10, max_length=2000, description="https:// (or http://)")
    event_types: list[WebhookEventType] = Field(
        default_factory=lambda: list(WebhookEventType),
        min_length=1,
        max_length=len(WebhookEventType),
        description="What to send; default: every type",
    )
    description: str | None = Field(default=None, max_length=200)

    @field_validator("url")
    @classmethod
    def _absolute_http(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute https:// (or http://) address")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials: the signature authenticates")
        return url

    @field_validator("event_types")
    @classmethod
    def _distinct(cls, types: list[WebhookEventType]) -> list[WebhookEventType]:
        return list(dict.fromkeys(types))


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    event_types: list[WebhookEventType]
    description: str | None
    created_at: datetime
    disabled_at: datetime | None
    secret: str | None = Field(
        default=None,
        description="The signing secret: in the answer of the POST only, never again",
    )

    @classmethod
    def of(cls, subscription: Subscription, secret: str | None = None) -> SubscriptionOut:
        return cls(
            subscription_id=subscription.subscription_id,
            url=subscription.url,
            event_types=subscription.event_types,
            description=subscription.description,
            created_at=subscription.created_at,
            disabled_at=subscription.disabled_at,
            secret=secret,
        )


class AttemptOut(BaseModel):
    attempt: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    replayed_by: str | None = Field(
        default=None, description="On the line of a manual replay (no POST then): who asked"
    )


class DeliveryOut(BaseModel):
    delivery_id: int
    subscription_id: str
    event_id: str
    event_type: str
    case_id: str
    status: Literal["pending", "delivered", "abandoned"]
    queued_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempts: list[AttemptOut]
    body: dict[str, Any] = Field(description="What was (or will be) POSTed")

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            delivery_id=d.delivery_id,
            subscription_id=d.subscription_id,
            event_id=d.event_id,
            event_type=d.event_type,
            case_id=d.case_id,
            status=d.status,
            queued_at=d.queued_at,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            attempts=[_attempt(a) for a in d.attempts],
            body=d.payload,
        )


def _attempt(a: Attempt) -> AttemptOut:
    return AttemptOut(
        attempt=a.attempt,
        attempted_at=a.attempted_at,
        duration_ms=a.duration_ms,
        status_code=a.status_code,
        error=a.error,
        replayed_by=a.replayed_by,
    )


class EventTypeOut(BaseModel):
    event_type: WebhookEventType
    description: str


@router.get("/event-types", operation_id="listWebhookEventTypes")
async def get_event_types(principal: LogReaderPrincipal) -> list[EventTypeOut]:
    """The event types a subscription can ask for."""
    return [EventTypeOut(event_type=t, description=DESCRIPTIONS[t]) for t in WebhookEventType]


@router.post(
    "/subscriptions",
    status_code=201,
    operation_id="createWebhookSubscription",
    responses=RESPONSES,
)
async def post_subscription(
    body: SubscriptionIn, principal: ManagerPrincipal, runtime: RuntimeDep
) -> SubscriptionOut:
    """Send the tenant's case events of these types to this URL, signed with a new
    secret (in this answer only: keep it). Events recorded from now on are sent."""
    if not runtime.settings.webhook_private_targets and literal_private(body.url):
        raise field_error("url", "must be a public address, not a private network's")
    async with runtime.engine.begin() as conn:
        made, secret = await create_subscription(
            conn, principal.tenant, body.url, body.event_types, body.description
        )
    return SubscriptionOut.of(made, secret)


@router.get("/subscriptions", operation_id="listWebhookSubscriptions")
async def get_subscriptions(
    principal: LogReaderPrincipal, runtime: RuntimeDep
) -> list[SubscriptionOut]:
    """The tenant's subscriptions, disabled ones included (without their secrets)."""
    async with runtime.reads.connect() as conn:
        return [SubscriptionOut.of(s) for s in await list_subscriptions(conn, principal.tenant)]


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="disableWebhookSubscription",
    responses=RESPONSES,
)
async def delete_subscription(
    subscription_id: SubscriptionId, principal: ManagerPrincipal, runtime: RuntimeDep
) -> SubscriptionOut:
    """Stop sending to it: nothing new is queued and what was pending is abandoned. Its
    delivery log stays readable."""
    async with runtime.engine.begin() as conn:
        found = await disable_subscription(conn, principal.tenant, subscription_id)
    if found is None:
        raise ApiError(404, "not_found", f"subscription_id: no subscription {subscription_id}")
    return SubscriptionOut.of(found)


@router.get("/deliveries", operation_id="listWebhookDeliveries", responses=RESPONSES)
async def get_deliveries(
    principal: LogReaderPrincipal,
    runtime: RuntimeDep,
    subscription_id: Annotated[str | None, Query(max_length=40)] = None,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["pending", "delivered", "abandoned"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """The delivery log, newest first: each delivery with every attempt (status code or
    error, duration)."""
    async with runtime.reads.connect() as conn:
        found = await list_deliveries(
            conn,
            principal.tenant,
            subscription_id=subscription_id,
            case_id=case_id,
            status=status,
            limit=limit,
        )
    return [DeliveryOut.of(d) for d in found]


class ReplayOut(BaseModel):
    delivery_id: int
    status: Literal["pending"]


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    operation_id="replayWebhookDelivery",
    responses=RESPONSES,
)
async def post_replay(
    delivery_id: Annotated[int, Path(ge=1, le=2**62)],
    principal: ManagerPrincipal,
    runtime: RuntimeDep,
) -> ReplayOut:
    """Send this delivery again, now (same event id and body), with a new retry period."""
    async with runtime.engine.begin() as conn:
        found = await replay_delivery(conn, principal.tenant, delivery_id, principal.actor)
    if not found:
        raise ApiError(404, "not_found", f"delivery_id: no delivery {delivery_id}")
    return ReplayOut(delivery_id=delivery_id, status="pending")
