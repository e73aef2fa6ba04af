"""Events written under an older schema are read as the current one; the row stays as it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import AwareDatetime
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.errors import UnknownEventType, UnsupportedSchemaVersion
from eventstore.events import EVENT_CLASSES, DomainEvent, ReminderChannel, ReminderSent
from eventstore.records import NewEvent
from eventstore.registry import EventRegistry
from eventstore.store import EventStore
from tests.eventstore.factories import envelope, metadata, new_stream


class ReminderSentV1(DomainEvent):
    """ReminderSent as recouvre wrote it before channels existed."""

    event_type: ClassVar[str] = "ReminderSent"
    schema_version: ClassVar[int] = 1

    step: str
    template: str
    message_id: str | None = None
    sent_at: AwareDatetime


SENT_AT = datetime(2026, 11, 7, 8, 0, tzinfo=UTC)


async def test_a_v1_reminder_is_read_as_a_v2_email_reminder(
    engine: AsyncEngine, store: EventStore
) -> None:
    stream_id = new_stream()
    old_code = EventStore(engine, EventRegistry([ReminderSentV1]))
    v1 = ReminderSentV1(step="reminder_1", template="reminder_1@1", sent_at=SENT_AT)
    await old_code.append(stream_id, [envelope(v1)], expected_version=0)

    [record] = await store.read_stream(stream_id)

    assert record.event == ReminderSent(
        step="reminder_1", template="reminder_1@1", channel=ReminderChannel.email, sent_at=SENT_AT
    )
    assert record.stored_schema_version == 1
    async with engine.connect() as conn:
        query = "SELECT schema_version, data ? 'channel' FROM events WHERE stream_id = :s"
        row = (await conn.execute(text(query), {"s": stream_id})).one()
    assert tuple(row) == (1, False), "upcasting happens on read; the stored row is unchanged"
    assert (await store.verify_stream(stream_id)).ok
    [in_log] = await store.read_all(after_position=record.position - 1, limit=1)
    assert in_log.event == record.event


async def test_v1_data_from_a_not_yet_upgraded_worker_is_accepted_as_v1(store: EventStore) -> None:
    stream_id = new_stream()
    old = NewEvent(
        event_id=uuid.uuid4(),
        event_type="ReminderSent",
        schema_version=1,
        data={"step": "reminder_2", "template": "reminder_2@1", "sent_at": SENT_AT.isoformat()},
        metadata=metadata(),
    )

    [record] = await store.append(stream_id, [old], expected_version=0)

    assert record.stored_schema_version == 1
    assert isinstance(record.event, ReminderSent) and record.event.channel is ReminderChannel.email


async def test_data_newer_than_this_code_or_of_an_unknown_type_is_not_written(
    store: EventStore,
) -> None:
    stream_id = new_stream()
    newer = NewEvent(
        event_id=uuid.uuid4(),
        event_type="ReminderSent",
        schema_version=3,
        data={},
        metadata=metadata(),
    )
    unknown = newer.model_copy(update={"event_type": "InvoiceForgiven", "schema_version": 1})

    with pytest.raises(UnsupportedSchemaVersion):
        await store.append(stream_id, [newer], expected_version=0)
    with pytest.raises(UnknownEventType):
        await store.append(stream_id, [unknown], expected_version=0)
    assert await store.stream_version(stream_id) == 0


def test_a_schema_bump_without_its_upcaster_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="ReminderSent is at v2 with no upcaster from v1"):
        EventRegistry(EVENT_CLASSES, upcasters={})
