"""A reader following the log never passes an event that commits later.

Positions come from a sequence, so a slow transaction can commit a smaller position after a
faster one committed a larger: a reader trusting ``position > checkpoint`` (the control
here) skips it for good. The store's reader follows (tx_id, position) and stops below the
oldest transaction still running, so it waits for the slow one instead.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.appending import Settle, settle_race
from eventstore.errors import TransactionTooOld
from eventstore.store import EventStore
from tests.eventstore.factories import (
    envelope,
    invoice_registered,
    new_stream,
    payment_recorded,
    reminder_sent,
)
from tests.eventstore.writers import caught_up, open_writer

STRESS_S = 8.0


async def test_the_reader_waits_for_an_open_append_then_reads_it_before_the_later_one(
    engine: AsyncEngine, store: EventStore
) -> None:
    reader, naive = await caught_up(engine, store)
    slow, fast = new_stream(), new_stream()

    async with open_writer(engine) as writer_1:
        [held] = await writer_1.append(slow, [envelope(invoice_registered())], 0) or []
        [done] = await store.append(fast, [envelope(invoice_registered())], 0)
        assert held.position < done.position and held.tx_id < done.tx_id

        while_open = await reader.poll()
        naive_while_open = await naive.poll()
        assert done.event_id not in {r.event_id for r in while_open}, (
            "the reader passed an append still open: it would never see it"
        )
        assert done.event_id in {r.event_id for r in naive_while_open}, "the control moved on"

        await writer_1.commit()

    after_commit = [r for r in await reader.drain() if r.stream_id in (slow, fast)]
    naive_after = [r for r in await naive.drain() if r.stream_id in (slow, fast)]
    assert [r.event_id for r in after_commit] == [held.event_id, done.event_id]
    assert [r.log_position for r in after_commit] == sorted(r.log_position for r in after_commit)
    assert naive_after == [], "the control skipped the slow commit for good, as expected"


async def test_a_rolled_back_append_leaves_a_gap_the_reader_steps_over(
    engine: AsyncEngine, store: EventStore
) -> None:
    reader, _ = await caught_up(engine, store)
    stream_id = new_stream()
    async with open_writer(engine) as writer:
        [lost] = await writer.append(stream_id, [envelope(invoice_registered())], 0) or []
        await writer.rollback()
    [kept] = await store.append(stream_id, [envelope(invoice_registered())], 0)

    seen = [r for r in await reader.drain() if r.stream_id == stream_id]

    assert kept.position > lost.position, "the rolled-back position is never reused"
    assert [(r.event_id, r.version) for r in seen] == [(kept.event_id, 1)]


async def test_an_append_in_a_transaction_older_than_the_streams_last_writer_is_refused(
    engine: AsyncEngine, store: EventStore
) -> None:
    # Its events would sort before the stream's previous one in (tx_id, position).
    stream_id = new_stream()
    async with open_writer(engine) as old:
        old_tx = await old.tx_id()  # the id is taken now, before the next writer's
        [first] = await store.append(stream_id, [envelope(invoice_registered())], 0)
        assert first.tx_id > old_tx
        event = envelope(reminder_sent())

        refused = await old.append(stream_id, [event], expected_version=1)

        assert refused is None, "the guard let an older transaction append after a younger"
        async with engine.connect() as conn:
            try:
                await settle_race(conn, stream_id, [event], 1, Settle(guard_refused=True))
            except TransactionTooOld as err:
                assert err.head_tx_id == first.tx_id
            else:
                raise AssertionError("settling a refused guard must say why")
    assert [r.version for r in await store.read_stream(stream_id)] == [1]


async def _store_writer(store: EventStore, streams: list[str], stop: float) -> int:
    """Appends through the store itself (autocommit): conflicts are normal, retried."""
    appended = 0
    while time.monotonic() < stop:
        stream_id = random.choice(streams)
        version = await store.stream_version(stream_id)
        event = envelope(invoice_registered() if version == 0 else reminder_sent(f"r{version}"))
        try:
            await store.append(stream_id, [event], version)
            appended += 1
        except Exception as err:  # ConcurrencyConflict: another writer got there first
            assert type(err).__name__ == "ConcurrencyConflict", err
    return appended


async def _slow_writer(
    engine: AsyncEngine,
    streams: list[str],
    stop: float,
    committed: set[uuid.UUID],
    rng: random.Random,
) -> None:
    """Explicit transactions held open a while, one in ten rolled back."""
    while time.monotonic() < stop:
        stream_id = rng.choice(streams)
        async with open_writer(engine) as writer:
            head = await writer.driver.fetchval(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1", stream_id
            )
            size = rng.randint(1, 3)
            batch = [envelope(payment_recorded()) for _ in range(size)]
            if head == 0:
                batch[0] = envelope(invoice_registered())
            try:
                written = await writer.append(stream_id, batch, head)
            except Exception as err:  # a racing writer of the same version committed first
                assert "pk_events" in str(err) or "lock timeout" in str(err).lower(), err
                written = None
            if written is None:
                await writer.rollback()
                continue
            await asyncio.sleep(rng.uniform(0, 0.03))  # the slow part of a slow commit
            if rng.random() < 0.1:
                await writer.rollback()
            else:
                await writer.commit()
                committed.update(r.event_id for r in written)


async def test_racing_writers_the_reader_reads_exactly_the_committed_events(
    engine: AsyncEngine, store: EventStore
) -> None:
    rng = random.Random(20261201)
    streams = [new_stream() for _ in range(12)]
    reader, naive = await caught_up(engine, store)
    committed: set[uuid.UUID] = set()
    seen: list[tuple[str, int, uuid.UUID]] = []
    naive_seen: set[uuid.UUID] = set()
    ours = set(streams)
    stop = time.monotonic() + STRESS_S

    async def follow() -> None:
        while time.monotonic() < stop:
            seen.extend((r.stream_id, r.version, r.event_id) for r in await reader.poll())
            naive_seen.update(r.event_id for r in await naive.poll())
            await asyncio.sleep(0.002)

    tasks = [
        _slow_writer(engine, streams, stop, committed, random.Random(rng.random()))
        for _ in range(4)
    ]
    outcome = await asyncio.gather(
        follow(), _store_writer(store, streams, stop), _store_writer(store, streams, stop), *tasks
    )
    seen.extend((r.stream_id, r.version, r.event_id) for r in await reader.drain())
    naive_seen.update(r.event_id for r in await naive.drain())

    stored = {
        r.event_id: (r.stream_id, r.version)
        for stream_id in streams
        for r in await store.read_stream(stream_id)
    }
    mine = [s for s in seen if s[0] in ours]
    assert len(mine) == len({e for _, _, e in mine}), "an event was read twice"
    assert {e for _, _, e in mine} == set(stored), (
        f"read {len(mine)} events, {len(stored)} are stored; missing"
        f" {len(set(stored) - {e for _, _, e in mine})},"
        f" not stored {len({e for _, _, e in mine} - set(stored))}"
    )
    assert committed <= set(stored), "an explicit commit went missing"
    for stream_id in streams:
        versions = [v for s, v, _ in mine if s == stream_id]
        assert versions == list(range(1, len(versions) + 1)), f"{stream_id} out of order"
    missed = len(set(stored) - naive_seen)
    print(
        f"\nstress: {len(stored)} committed events ({outcome[1] + outcome[2]} by the store's"
        f" appends, {len(committed)} in held transactions), read exactly by the reader;"
        f" the position > checkpoint control missed {missed}"
    )
    assert missed > 0, "the control reader is expected to miss slow commits"
