"""A tenant's webhook subscriptions: created with a secret shown once, listed, disabled."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from outbound.erp_webhooks.event_types import WebhookEventType
from outbound.erp_webhooks.signature import new_secret
from storage.tables import webhook_deliveries, webhook_subscriptions


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    tenant: str
    url: str
    event_types: list[WebhookEventType]
    description: str | None
    created_at: datetime
    disabled_at: datetime | None


def _of(row: Row[Any]) -> Subscription:
    return Subscription(
        subscription_id=row.subscription_id,
        tenant=row.tenant,
        url=row.url,
        event_types=[WebhookEventType(t) for t in row.event_types],
        description=row.description,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


async def create_subscription(
    conn: AsyncConnection,
    tenant: str,
    url: str,
    event_types: list[WebhookEventType],
    description: str | None,
) -> tuple[Subscription, str]:
    """The new subscription and its signing secret (stored to sign, never shown again)."""
    subscription_id = "whs-" + secrets.token_hex(12)
    secret = new_secret()
    row = (
        await conn.execute(
            webhook_subscriptions.insert()
            .values(
                subscription_id=subscription_id,
                tenant=tenant,
                url=url,
                secret=secret,
                event_types=[t.value for t in event_types],
                description=description,
                created_at=datetime.now(UTC),
            )
            .returning(webhook_subscriptions)
        )
    ).one()
    return _of(row), secret


async def list_subscriptions(conn: AsyncConnection, tenant: str) -> list[Subscription]:
    query = (
        select(webhook_subscriptions)
        .where(webhook_subscriptions.c.tenant == tenant)
        .order_by(webhook_subscriptions.c.created_at)
    )
    return [_of(row) for row in await conn.execute(query)]


async def disable_subscription(
    conn: AsyncConnection, tenant: str, subscription_id: str
) -> Subscription | None:
    """Stop sending to it: no new deliveries, and the pending ones are abandoned (its log
    stays, and a replay can still send one). None if the tenant has none of that id.
    Disabling twice keeps the first date."""
    s, d = webhook_subscriptions, webhook_deliveries
    key = (s.c.tenant == tenant, s.c.subscription_id == subscription_id)
    disabled = await conn.execute(
        update(s).where(*key, s.c.disabled_at.is_(None)).values(disabled_at=datetime.now(UTC))
    )
    if disabled.rowcount:
        await conn.execute(
            update(d)
            .where(d.c.subscription_id == subscription_id, d.c.status == "pending")
            .values(status="abandoned", last_error="subscription disabled")
        )
    row = (await conn.execute(select(s).where(*key))).first()
    return None if row is None else _of(row)
