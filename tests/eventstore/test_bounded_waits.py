"""No append waits without bound, and readers never wait for appends (nor appends for them).

A wait that runs out is StoreTimeout, with nothing written: the same call later succeeds
(the workflow's append activity retries it without limit).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.errors import StoreTimeout
from eventstore.store import EventStore
from services.audit.stream import export_stream
from tests.eventstore.factories import a_case, envelope, invoice_registered, new_stream
from tests.eventstore.writers import open_writer


@pytest.fixture
def impatient(engine: AsyncEngine) -> EventStore:
    return EventStore(engine, lock_timeout_ms=200, statement_timeout_ms=800)


async def test_an_append_behind_a_table_lock_times_out_retryably_and_writes_nothing(
    engine: AsyncEngine, impatient: EventStore
) -> None:
    stream_id = new_stream()
    event = envelope(invoice_registered())
    async with engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        with pytest.raises(StoreTimeout, match="nothing was written, retry") as timed_out:
            await impatient.append(stream_id, [event], expected_version=0)
        waited = time.monotonic() - started
        await transaction.rollback()

    assert waited < 3, f"the append waited {waited:.1f} s for a lock"
    assert isinstance(timed_out.value, OperationalError), "callers' retry-later error"
    [stored] = await impatient.append(stream_id, [event], expected_version=0)
    assert (stored.event_id, stored.version) == (event.event_id, 1)


async def test_an_append_racing_an_uncommitted_writer_gives_up_at_its_lock_timeout(
    engine: AsyncEngine, impatient: EventStore
) -> None:
    stream_id = new_stream()
    async with open_writer(engine) as writer:
        assert await writer.append(stream_id, [envelope(invoice_registered())], 0)
        started = time.monotonic()
        with pytest.raises(StoreTimeout, match="lock_timeout"):
            await impatient.append(stream_id, [envelope(invoice_registered())], 0)
        waited = time.monotonic() - started
        await writer.rollback()

    assert waited < 0.8, f"waited {waited:.2f} s: the lock timeout (0.2 s) did not apply"
    assert await impatient.stream_version(stream_id) == 0
    await impatient.append(stream_id, [envelope(invoice_registered())], 0)
    assert await impatient.stream_version(stream_id) == 1


async def test_a_read_behind_a_table_lock_times_out_instead_of_hanging(
    engine: AsyncEngine, impatient: EventStore
) -> None:
    stream_id = new_stream()
    await impatient.append(stream_id, a_case(), expected_version=0)
    async with engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(StoreTimeout):
            await impatient.read_stream(stream_id)
        await transaction.rollback()
    assert len(await impatient.read_stream(stream_id)) == 4


async def test_auditor_reads_do_not_wait_for_an_open_append_nor_hold_one_back(
    engine: AsyncEngine, store: EventStore
) -> None:
    stream_id = new_stream()
    await store.append(stream_id, a_case()[:2], expected_version=0)
    async with open_writer(engine) as writer:
        assert await writer.append(stream_id, a_case()[2:], 2)  # uncommitted: versions 3, 4

        reads = await asyncio.wait_for(
            asyncio.gather(
                store.read_stream(stream_id),
                store.verify_stream(stream_id),
                export_stream(engine, stream_id),
            ),
            timeout=2,
        )
        other = new_stream()
        await asyncio.wait_for(store.append(other, a_case(), 0), timeout=2)
        await writer.commit()

    stream, report, export = reads
    assert [r.version for r in stream] == [1, 2], "only what is committed, at once"
    assert report.ok and report.count == 2
    assert export.verification.ok and len(export.events) == 2
    assert await store.stream_version(stream_id) == 4


async def test_store_reads_take_no_transaction_id(engine: AsyncEngine, store: EventStore) -> None:
    # A read-only transaction never gets an id: it cannot hold back the readers' xmin.
    stream_id = new_stream()
    await store.append(stream_id, a_case(), expected_version=0)
    async with store._reading() as conn:
        await conn.execute(text("SELECT 1 FROM events WHERE stream_id = :s"), {"s": stream_id})
        assigned = await conn.execute(text("SELECT pg_current_xact_id_if_assigned()"))
        assert assigned.scalar_one() is None
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await conn.execute(text("CREATE TEMP TABLE t_read_only (x int)"))
