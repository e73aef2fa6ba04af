"""The delivery log a tenant reads: each delivery, its status and every attempt; replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import webhook_attempts, webhook_deliveries, webhook_events


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    replayed_by: str | None = None
    """Set on the line a manual replay writes (no POST was made then): who asked."""


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: int
    subscription_id: str
    event_id: str
    event_type: str
    case_id: str
    status: str
    attempts: list[Attempt]
    queued_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]


async def list_deliveries(
    conn: AsyncConnection,
    tenant: str,
    *,
    subscription_id: str | None = None,
    case_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """The tenant's deliveries, newest first, with their attempts in order."""
    d, e = webhook_deliveries, webhook_events
    query = (
        select(d, e.c.event_type, e.c.payload)
        .join(e, e.c.event_id == d.c.event_id)
        .where(d.c.tenant == tenant)
        .order_by(d.c.delivery_id.desc())
        .limit(limit)
    )
    if subscription_id is not None:
        query = query.where(d.c.subscription_id == subscription_id)
    if case_id is not None:
        query = query.where(d.c.case_id == case_id)
    if status is not None:
        query = query.where(d.c.status == status)
    rows = (await conn.execute(query)).all()
    tried = select(webhook_attempts).where(
        webhook_attempts.c.delivery_id.in_([r.delivery_id for r in rows])
    )
    attempts: dict[int, list[Attempt]] = {}
    for a in (await conn.execute(tried.order_by(webhook_attempts.c.attempt))).all():
        attempts.setdefault(a.delivery_id, []).append(
            Attempt(a.attempt, a.attempted_at, a.duration_ms, a.status_code, a.error, a.manual)
        )
    return [
        Delivery(
            delivery_id=r.delivery_id,
            subscription_id=r.subscription_id,
            event_id=str(r.event_id),
            event_type=r.event_type,
            case_id=r.case_id,
            status=r.status,
            attempts=attempts.get(r.delivery_id, []),
            queued_at=r.created_at,
            next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
            delivered_at=r.delivered_at,
            last_status_code=r.last_status_code,
            last_error=r.last_error,
            payload=r.payload,
        )
        for r in rows
    ]


async def replay_delivery(conn: AsyncConnection, tenant: str, delivery_id: int, by: str) -> bool:
    """Make a delivery pending again, due now, for a new retry period (from now) and a
    new backoff series: the same event, id and body; False if the tenant has no such
    delivery. A delivered one is sent again too (a receiver that lost it asks for it).

    The replay takes an attempt number of its own, logged with ``by``: an attempt still
    in flight then finds the counter moved and leaves the row to the replay."""
    d, now = webhook_deliveries, datetime.now(UTC)
    replayed = (
        await conn.execute(
            update(d)
            .where(d.c.tenant == tenant, d.c.delivery_id == delivery_id)
            .values(
                status="pending", next_attempt_at=now, created_at=now, attempts=d.c.attempts + 1
            )
            .returning(d.c.attempts)
        )
    ).first()
    if replayed is None:
        return False
    await conn.execute(
        insert(webhook_attempts).values(
            delivery_id=delivery_id,
            attempt=replayed.attempts,
            attempted_at=now,
            duration_ms=0,
            manual=by,
        )
    )
    return True
