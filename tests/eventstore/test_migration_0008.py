"""Migration 0008 on a database with events written the old way (the counter row).

Old rows keep their order ahead of every new one (tx_id 0), the sequence starts after the
counter, a projection checkpoint keeps its meaning, every stream still verifies and grows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.hashing import GENESIS_HASH, content_hash
from eventstore.records import ORIGIN, LogPosition, StoredEvent
from eventstore.store import EventStore
from projections.projector import current_checkpoint
from storage.engine import make_engine
from storage.migrate import alembic_config
from storage.tables import checkpoints, events
from tests.eventstore.factories import a_case, envelope, metadata, payment_recorded
from tests.support.schema import schema_differences


@pytest.fixture
async def scratch_url(engine: AsyncEngine, database_url: str) -> AsyncIterator[str]:
    """A new, empty database on the session's server, dropped afterwards."""
    name = f"m0008_{uuid.uuid4().hex[:10]}"
    admin = await engine.connect()
    await admin.execution_options(isolation_level="AUTOCOMMIT")
    await admin.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        await admin.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.close()


def _old_rows(stream_id: str, first_position: int) -> list[StoredEvent]:
    """A case as the old store wrote it: gap-free positions from the counter, chained."""
    found, prev = [], GENESIS_HASH
    for offset, event in enumerate(a_case()):
        row = StoredEvent(
            position=first_position + offset,
            stream_id=stream_id,
            version=offset + 1,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=event.data,
            metadata=metadata().model_dump(mode="json"),
            recorded_at=datetime(2026, 10, 1, 8, offset, tzinfo=UTC),
            content_hash="",
            prev_hash=prev,
        )
        row = replace(row, content_hash=content_hash(row))
        found.append(row)
        prev = row.content_hash
    return found


async def test_existing_events_keep_their_order_chain_and_checkpoint_and_streams_grow(
    scratch_url: str,
) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(scratch_url), "0007")
    old = make_engine(scratch_url)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    rows = _old_rows(first, 1) + _old_rows(second, 5)
    try:
        async with old.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO events (position, stream_id, version, event_id, event_type,"
                    " schema_version, data, metadata, recorded_at, content_hash, prev_hash)"
                    " VALUES (:position, :stream_id, :version, :event_id, :event_type,"
                    " :schema_version, CAST(:data AS jsonb), CAST(:metadata AS jsonb),"
                    " :recorded_at, :content_hash, :prev_hash)"
                ),
                [
                    {
                        **{f.name: getattr(r, f.name) for f in fields(r) if f.name != "tx_id"},
                        "data": _json(r.data),
                        "metadata": _json(r.metadata),
                    }
                    for r in rows
                ],
            )
            await conn.execute(text("UPDATE event_positions SET last_position = 8"))
            await conn.execute(
                text("INSERT INTO projection_checkpoints (name, position) VALUES (:n, 6)"),
                {"n": "case_reports"},
            )
    finally:
        await old.dispose()

    await asyncio.to_thread(command.upgrade, alembic_config(scratch_url), "head")

    engine = make_engine(scratch_url)
    store = EventStore(engine)
    try:
        async with engine.connect() as conn:
            baseline = (await conn.execute(text("SELECT DISTINCT tx_id FROM events"))).all()
            assert baseline == [(0,)], "every existing row gets the baseline tx_id 0"
            assert await current_checkpoint(conn) == LogPosition(0, 6)
            assert await conn.run_sync(schema_differences, events, checkpoints) == []
            gone = await conn.execute(text("SELECT to_regclass('event_positions')"))
            assert gone.scalar_one() is None

        log = await store.read_all(ORIGIN, limit=100)
        assert [(r.position, r.tx_id) for r in log] == [(p, 0) for p in range(1, 9)]
        after_checkpoint = await store.read_all(LogPosition(0, 6), limit=100)
        assert [r.position for r in after_checkpoint] == [7, 8], "the checkpoint meant 1..6"
        assert (await store.verify_stream(first)).ok and (await store.verify_stream(second)).ok

        [grown] = await store.append(first, [envelope(payment_recorded())], expected_version=4)
        assert grown.position == 9, "the sequence starts after the counter's last value"
        assert grown.tx_id > 0 and grown.prev_hash == rows[3].content_hash
        report = await store.verify_stream(first)
        assert report.ok and report.count == 5
        assert [r.position for r in await store.read_all(LogPosition(0, 8))] == [9]
    finally:
        await engine.dispose()


async def test_the_downgrade_brings_the_counter_back_after_the_last_position(
    scratch_url: str,
) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(scratch_url), "head")
    engine = make_engine(scratch_url)
    try:
        store = EventStore(engine)
        recorded = await store.append(str(uuid.uuid4()), a_case(), expected_version=0)
    finally:
        await engine.dispose()

    await asyncio.to_thread(command.downgrade, alembic_config(scratch_url), "0007")

    engine = make_engine(scratch_url)
    try:
        async with engine.connect() as conn:
            counter = await conn.execute(text("SELECT last_position FROM event_positions"))
            assert counter.scalar_one() == recorded[-1].position
            columns = await conn.execute(
                text("SELECT count(*) FROM information_schema.columns WHERE column_name = 'tx_id'")
            )
            assert columns.scalar_one() == 0
    finally:
        await engine.dispose()
    await asyncio.to_thread(command.upgrade, alembic_config(scratch_url), "head")


def _json(value: object) -> str:
    return json.dumps(value)
