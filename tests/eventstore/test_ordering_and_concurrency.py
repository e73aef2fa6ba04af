"""The global order keeps the order of appends, and one writer wins a race on a stream."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.errors import ConcurrencyConflict
from eventstore.records import RecordedEvent
from eventstore.store import EventStore
from tests.eventstore.factories import (
    a_case,
    envelope,
    invoice_registered,
    new_stream,
    payment_recorded,
    reminder_sent,
)
from tests.eventstore.writers import caught_up


async def _last_handed_out(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = text("SELECT coalesce(pg_sequence_last_value('events_position_seq'), 0)")
        return int((await conn.execute(query)).scalar_one())


async def test_the_log_keeps_the_order_of_appends_and_a_refused_one_uses_no_position(
    store: EventStore, engine: AsyncEngine
) -> None:
    a, b = new_stream(), new_stream()
    reader, _ = await caught_up(engine, store)

    await store.append(a, [envelope(invoice_registered())], expected_version=0)
    await store.append(b, [envelope(invoice_registered())], expected_version=0)
    await store.append(a, [envelope(reminder_sent()), envelope(payment_recorded())], 1)
    before_refusal = await _last_handed_out(engine)
    with pytest.raises(ConcurrencyConflict):
        await store.append(b, [envelope(reminder_sent())], expected_version=0)
    assert await _last_handed_out(engine) == before_refusal, "a refused append reserved positions"
    await store.append(b, [envelope(reminder_sent())], expected_version=1)

    log = [r for r in await reader.drain() if r.stream_id in (a, b)]
    assert [(r.stream_id, r.version) for r in log] == [(a, 1), (b, 1), (a, 2), (a, 3), (b, 2)]
    assert [r.log_position for r in log] == sorted({r.log_position for r in log})
    positions = [r.position for r in log]
    assert positions == sorted(set(positions)), "one at a time, positions rise with the log"
    assert len({r.tx_id for r in log}) == 4, "one transaction per append, the batch shares it"


async def test_concurrent_appends_to_many_streams_get_distinct_positions_rising_in_each_batch(
    store: EventStore, engine: AsyncEngine
) -> None:
    streams = [new_stream() for _ in range(12)]
    results = await asyncio.gather(*(store.append(s, a_case(), 0) for s in streams))

    for stream_id, records in zip(streams, results, strict=True):
        assert [r.version for r in records] == [1, 2, 3, 4], stream_id
        positions = [r.position for r in records]
        assert positions == sorted(positions), "a batch's positions rise with its versions"
        assert len({r.tx_id for r in records}) == 1, "a batch is one transaction"
    every = [r.position for records in results for r in records]
    assert len(every) == len(set(every)) == 48
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT stream_id, version, tx_id FROM events WHERE stream_id = ANY(:s)"),
            {"s": streams},
        )
        stored = {(r.stream_id, r.version): r.tx_id for r in rows}
    assert stored == {(r.stream_id, r.version): r.tx_id for rs in results for r in rs}


async def test_two_writers_with_the_same_expected_version_one_wins_one_conflicts(
    store: EventStore,
) -> None:
    stream_id = new_stream()
    await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)
    first, second = envelope(payment_recorded("100.00")), envelope(payment_recorded("300.00"))

    outcomes = await asyncio.gather(
        store.append(stream_id, [first], expected_version=1),
        store.append(stream_id, [second], expected_version=1),
        return_exceptions=True,
    )

    won = [o for o in outcomes if isinstance(o, list)]
    lost = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(won) == 1 and len(lost) == 1, f"expected one winner, one conflict: {outcomes!r}"
    assert (lost[0].expected_version, lost[0].actual_version) == (1, 2)
    winner: RecordedEvent = won[0][0]
    stream = await store.read_stream(stream_id)
    assert [r.event_id for r in stream][1:] == [winner.event_id], "only the winner is stored"
    assert (await store.verify_stream(stream_id)).ok


async def test_many_racing_writers_leave_exactly_one_event_per_version(store: EventStore) -> None:
    stream_id = new_stream()
    await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)

    outcomes = await asyncio.gather(
        *(store.append(stream_id, [envelope(reminder_sent())], 1) for _ in range(8)),
        return_exceptions=True,
    )

    assert sum(isinstance(o, list) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 7
    assert await store.stream_version(stream_id) == 2


async def test_the_primary_key_refuses_a_second_event_at_the_same_version(
    store: EventStore, engine: AsyncEngine
) -> None:
    stream_id = new_stream()
    await store.append(stream_id, [envelope(invoice_registered())], expected_version=0)

    with pytest.raises(IntegrityError, match="pk_events"):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO events SELECT position + 1000000000, stream_id, version,"
                    " gen_random_uuid(), event_type, schema_version, data, metadata,"
                    " recorded_at, content_hash, prev_hash FROM events WHERE stream_id = :s"
                ),
                {"s": stream_id},
            )
    assert await store.stream_version(stream_id) == 1
