"""Appending an event id twice stores it once: what makes activity retries safe."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.errors import EventIdConflict
from eventstore.ids import event_id_for
from eventstore.store import EventStore
from tests.eventstore.factories import (
    envelope,
    invoice_registered,
    new_stream,
    payment_recorded,
    reminder_sent,
)


async def _rows_with_id(engine: AsyncEngine, event_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM events WHERE event_id = :id")
        return int((await conn.execute(query, {"id": event_id})).scalar_one())


async def _last_position(engine: AsyncEngine) -> int:
    """The last position the sequence handed out."""
    async with engine.connect() as conn:
        query = text("SELECT coalesce(pg_sequence_last_value('events_position_seq'), 0)")
        return int((await conn.execute(query)).scalar_one())


async def test_a_retried_append_returns_the_stored_record_and_writes_nothing(
    store: EventStore, engine: AsyncEngine
) -> None:
    stream_id = new_stream()
    registered = envelope(invoice_registered(), event_id_for(stream_id, "registered"))

    [first] = await store.append(stream_id, [registered], expected_version=0)
    handed_out = await _last_position(engine)
    [again] = await store.append(stream_id, [registered], expected_version=0)

    assert again == first, "the retry must see the very record the first attempt stored"
    assert await _rows_with_id(engine, registered.event_id) == 1
    assert await store.stream_version(stream_id) == 1
    assert await _last_position(engine) == handed_out, "a no-op retry must not use up a position"


async def test_a_retry_after_the_stream_moved_on_is_still_a_no_op(store: EventStore) -> None:
    # The activity committed, crashed before reporting, and a later event got in first.
    stream_id = new_stream()
    reminder = envelope(reminder_sent(), event_id_for(stream_id, "reminder_1"))
    await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)
    [stored] = await store.append(stream_id, [reminder], expected_version=1)
    await store.append(stream_id, [envelope(payment_recorded())], expected_version=2)

    [again] = await store.append(stream_id, [reminder], expected_version=1)

    assert (again.version, again.position) == (stored.version, stored.position)
    assert await store.stream_version(stream_id) == 3


async def test_concurrent_retries_of_the_same_event_all_get_it_stored_once(
    store: EventStore, engine: AsyncEngine
) -> None:
    # A retry can start while the first attempt is still committing (heartbeat timeout):
    # every attempt must get the stored record, none a conflict.
    for _ in range(10):
        stream_id = new_stream()
        await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)
        reminder = envelope(reminder_sent(), event_id_for(stream_id, "reminder_1"))

        outcomes = await asyncio.gather(
            *(store.append(stream_id, [reminder], expected_version=1) for _ in range(4)),
            return_exceptions=True,
        )

        assert all(isinstance(o, list) for o in outcomes), outcomes
        assert len({o[0].position for o in outcomes if isinstance(o, list)}) == 1
        assert await _rows_with_id(engine, reminder.event_id) == 1


async def test_the_same_event_id_with_other_content_is_refused(store: EventStore) -> None:
    stream_id = new_stream()
    event_id = event_id_for(stream_id, "payment/VIR-123")
    await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)
    await store.append(stream_id, [envelope(payment_recorded("200.00"), event_id)], 1)

    with pytest.raises(EventIdConflict, match="different content"):
        await store.append(stream_id, [envelope(payment_recorded("250.00"), event_id)], 2)
    [kept] = await store.read_stream(stream_id, from_version=2)
    assert kept.event == payment_recorded("200.00")


async def test_an_event_id_cannot_be_reused_in_another_stream(store: EventStore) -> None:
    registered = envelope(invoice_registered())
    await store.append(new_stream(), [registered], expected_version=0)

    other = new_stream()
    with pytest.raises(EventIdConflict, match="already stored in stream"):
        await store.append(other, [registered], expected_version=0)
    assert await store.stream_version(other) == 0


async def test_a_batch_only_partly_stored_is_refused_whole(store: EventStore) -> None:
    stream_id = new_stream()
    registered = envelope(invoice_registered())
    await store.append(stream_id, [registered], expected_version=0)

    with pytest.raises(EventIdConflict, match="part of this batch"):
        await store.append(stream_id, [registered, envelope(reminder_sent())], 0)
    assert await store.stream_version(stream_id) == 1
