"""Migration 0015 creates exactly the tables storage/tables.py declares for the other sides
of the conversation (ERP webhooks, the debtor portal, online payments, the BODACC watch)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import (
    insolvency_publications,
    online_payments,
    portal_requests,
    provider_events,
    webhook_attempts,
    webhook_deliveries,
    webhook_events,
    webhook_subscriptions,
)
from tests.support.schema import schema_differences


async def test_the_table_objects_match_migration_0015(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            schema_differences,
            webhook_subscriptions,
            webhook_events,
            webhook_deliveries,
            webhook_attempts,
            portal_requests,
            online_payments,
            provider_events,
            insolvency_publications,
        )
    assert differences == []
