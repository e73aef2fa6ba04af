"""The database itself refuses to change or remove a recorded event."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.store import EventStore
from tests.eventstore.factories import a_case, new_stream

REFUSED = "refused: the event log is append-only"


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ('UPDATE events SET data = \'{"amount": "1.00"}\' WHERE stream_id = :s', "UPDATE"),
        ("DELETE FROM events WHERE stream_id = :s AND version = 3", "DELETE"),
        ("UPDATE events SET metadata = metadata WHERE false AND stream_id = :s", "UPDATE"),
    ],
)
async def test_the_database_refuses_to_update_or_delete_events(
    store: EventStore, engine: AsyncEngine, statement: str, operation: str
) -> None:
    stream_id = new_stream()
    before = await store.append(stream_id, a_case(), expected_version=0)

    with pytest.raises(DBAPIError, match=f"{operation} on events {REFUSED}"):
        async with engine.begin() as conn:
            await conn.execute(text(statement), {"s": stream_id})

    assert await store.read_stream(stream_id) == before
    assert (await store.verify_stream(stream_id)).ok


async def test_the_database_refuses_to_truncate_events(engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match=f"TRUNCATE on events {REFUSED}"):
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE events"))


async def test_the_guard_also_holds_in_replication_mode(
    store: EventStore, engine: AsyncEngine
) -> None:
    # session_replication_role = replica silences ordinary triggers, not ALWAYS ones.
    stream_id = new_stream()
    await store.append(stream_id, a_case(), expected_version=0)

    with pytest.raises(DBAPIError, match=REFUSED):
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text("DELETE FROM events WHERE stream_id = :s"), {"s": stream_id})
    assert await store.stream_version(stream_id) == 4
