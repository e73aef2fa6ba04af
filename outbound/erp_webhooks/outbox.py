"""The webhook outbox: follows the event store and queues what each subscription gets.

Each batch is one transaction that locks the follower's checkpoint, reads the events
after it, writes their webhook events and one pending delivery per subscription that
asked for the type, and moves the checkpoint. A crash before the commit keeps nothing of
the batch; it is read again on restart and makes the same ids (``mapping``), so nothing
is queued twice. Unlike the read tables' projector this commit waits for the disk: a
delivery may be sent the moment it commits, and must not be made again after a crash.

A subscription gets the events recorded after it was created, never the past: an ERP
that subscribes does not receive years of history at once. A case's stage before a
stage-changing event is folded from its own stream (``stage_after``), so ``stage.changed``
does not depend on how far any other projection has got.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.errors import StoreTimeout
from eventstore.records import RecordedEvent
from eventstore.store import EventStore
from outbound.erp_webhooks.event_types import WebhookEventType
from outbound.erp_webhooks.mapping import WebhookEvent, webhook_events
from outbound.erp_webhooks.waiting import pause
from projections.case_rows import STAGE_EVENTS, stage_after
from projections.projector import lock_checkpoint, move_checkpoint
from schemas.case import Stage
from storage.tables import cases, webhook_deliveries, webhook_subscriptions
from storage.tables import webhook_events as webhook_event_rows

log = logging.getLogger("recouvre.webhooks")

FOLLOWER = "erp_webhooks"
"""The outbox's row in ``projection_checkpoints``."""
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class _Subscription:
    subscription_id: str
    event_types: frozenset[str]
    created_at: datetime

    def wants(self, event: WebhookEvent, recorded_at: datetime) -> bool:
        return event.event_type.value in self.event_types and recorded_at >= self.created_at


async def _subscriptions(conn: AsyncConnection) -> dict[str, list[_Subscription]]:
    """The active subscriptions, by tenant."""
    query = select(webhook_subscriptions).where(webhook_subscriptions.c.disabled_at.is_(None))
    found: dict[str, list[_Subscription]] = defaultdict(list)
    for row in await conn.execute(query):
        found[row.tenant].append(
            _Subscription(row.subscription_id, frozenset(row.event_types), row.created_at)
        )
    return found


async def _invoice_numbers(conn: AsyncConnection, case_ids: Sequence[str]) -> dict[str, str]:
    query = select(cases.c.case_id, cases.c.invoice_number).where(cases.c.case_id.in_(case_ids))
    return {row.case_id: row.invoice_number for row in await conn.execute(query)}


async def _stage_change(store: EventStore, record: RecordedEvent) -> tuple[str, str]:
    """The case's stage before and after ``record``, folded from its stream."""
    stage = Stage.amicable.value
    for earlier in await store.read_stream(record.stream_id):
        if earlier.version >= record.version:
            break
        stage = stage_after(stage, earlier.event)
    return stage, stage_after(stage, record.event)


def _wanted(
    subscriptions: list[_Subscription], event: WebhookEvent, recorded_at: datetime
) -> list[str]:
    return [s.subscription_id for s in subscriptions if s.wants(event, recorded_at)]


async def outbox_batch(engine: AsyncEngine, store: EventStore, limit: int = BATCH_SIZE) -> int:
    """Queue the webhooks of the next (up to) ``limit`` events; returns how many events
    the batch read (0: caught up)."""
    async with engine.begin() as conn:
        after = await lock_checkpoint(conn, FOLLOWER)
        records = await store.read_all(after_position=after, limit=limit, trusted=True)
        if not records:
            return 0
        subscriptions = await _subscriptions(conn)
        relevant = [r for r in records if subscriptions.get(r.metadata.tenant)]
        numbers = await _invoice_numbers(conn, sorted({r.stream_id for r in relevant}))
        event_rows: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        for record in relevant:
            tenant_subs = [
                s
                for s in subscriptions[record.metadata.tenant]
                if record.recorded_at >= s.created_at
            ]
            if not tenant_subs:
                continue
            change = None
            if isinstance(record.event, STAGE_EVENTS) and any(
                WebhookEventType.stage_changed.value in s.event_types for s in tenant_subs
            ):
                change = await _stage_change(store, record)
            made = webhook_events(
                record, invoice_number=numbers.get(record.stream_id), stage_change=change
            )
            for event in made:
                receivers = _wanted(tenant_subs, event, record.recorded_at)
                if not receivers:
                    continue
                event_rows.append(
                    {
                        "event_id": event.event_id,
                        "tenant": event.tenant,
                        "case_id": event.case_id,
                        "event_type": event.event_type.value,
                        "payload": event.payload,
                        "source_event_id": record.event_id,
                        "source_position": record.position,
                    }
                )
                delivery_rows.extend(
                    {
                        "subscription_id": subscription_id,
                        "event_id": event.event_id,
                        "tenant": event.tenant,
                        "case_id": event.case_id,
                        "status": "pending",
                        "next_attempt_at": record.recorded_at,
                    }
                    for subscription_id in receivers
                )
        if event_rows:
            await conn.execute(insert(webhook_event_rows).on_conflict_do_nothing(), event_rows)
            # In log order, so delivery_id orders each case's deliveries as its events.
            await conn.execute(insert(webhook_deliveries).on_conflict_do_nothing(), delivery_rows)
        await move_checkpoint(conn, FOLLOWER, records[-1].log_position)
    return len(records)


async def follow(
    engine: AsyncEngine, store: EventStore, stop: asyncio.Event, poll_s: float
) -> None:
    """Keep the outbox up to date until ``stop`` is set; a database outage is waited out."""
    while not stop.is_set():
        try:
            read = await outbox_batch(engine, store)
        except (OperationalError, InterfaceError, OSError, StoreTimeout) as err:
            log.warning("webhook outbox: database unavailable (%s)", err)
            read = 0
        if read < BATCH_SIZE:
            await pause(stop, poll_s)
