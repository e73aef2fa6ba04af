"""SQL on the events table: rows in, StoredEvent out. No business rules here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Row, false, func, insert, select, true, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore.records import StoredEvent
from eventstore.tables import event_positions, events


def _stored(row: Row[tuple[object, ...]]) -> StoredEvent:
    m = row._mapping
    return StoredEvent(
        position=m["position"],
        stream_id=m["stream_id"],
        version=m["version"],
        event_id=m["event_id"],
        event_type=m["event_type"],
        schema_version=m["schema_version"],
        data=m["data"],
        metadata=m["metadata"],
        recorded_at=m["recorded_at"],
        content_hash=m["content_hash"],
        prev_hash=m["prev_hash"],
    )


async def stream_rows(
    conn: AsyncConnection, stream_id: str, from_version: int = 1
) -> list[StoredEvent]:
    """The stream's rows from ``from_version`` on, in version order."""
    query = (
        select(events)
        .where(events.c.stream_id == stream_id, events.c.version >= from_version)
        .order_by(events.c.version)
    )
    return [_stored(row) for row in await conn.execute(query)]


async def rows_after(conn: AsyncConnection, after_position: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` rows of all streams after ``after_position``, in global order."""
    query = (
        select(events)
        .where(events.c.position > after_position)
        .order_by(events.c.position)
        .limit(limit)
    )
    return [_stored(row) for row in await conn.execute(query)]


async def lookup(
    conn: AsyncConnection, stream_id: str, event_ids: Sequence[UUID]
) -> tuple[list[StoredEvent], StoredEvent | None]:
    """Rows already stored under any of ``event_ids``, and the stream's last row.

    One statement, hence one snapshot: a batch committed meanwhile by a racing retry is
    seen either in both answers or in neither.
    """
    by_id = select(events, false().label("is_head")).where(events.c.event_id.in_(event_ids))
    head = (
        select(events, true().label("is_head"))
        .where(events.c.stream_id == stream_id)
        .order_by(events.c.version.desc())
        .limit(1)
    )
    found, last = [], None
    for row in await conn.execute(union_all(by_id, head)):
        if row.is_head:
            last = _stored(row)
        else:
            found.append(_stored(row))
    return found, last


async def stream_head(conn: AsyncConnection, stream_id: str) -> tuple[int, str] | None:
    """(version, content_hash) of the stream's last event, or None for an empty stream."""
    query = (
        select(events.c.version, events.c.content_hash)
        .where(events.c.stream_id == stream_id)
        .order_by(events.c.version.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row.version, row.content_hash)


async def reserve_positions(conn: AsyncConnection, count: int) -> tuple[int, datetime]:
    """Take the next ``count`` global positions; returns the first one and the clock.

    The row lock taken here is held until commit: appends queue up behind it, so
    positions commit in order and a rolled-back append gives its positions back.
    """
    statement = (
        update(event_positions)
        .where(event_positions.c.id == 1)
        .values(last_position=event_positions.c.last_position + count)
        .returning(
            event_positions.c.last_position, func.clock_timestamp(type_=DateTime(timezone=True))
        )
    )
    row = (await conn.execute(statement)).one()
    last: int = row[0]
    now: datetime = row[1]
    return last - count + 1, now


async def insert_rows(conn: AsyncConnection, rows: Iterable[StoredEvent]) -> None:
    """Insert rows as they are (hashes and positions already computed)."""
    await conn.execute(
        insert(events),
        [
            {
                "position": r.position,
                "stream_id": r.stream_id,
                "version": r.version,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "schema_version": r.schema_version,
                "data": r.data,
                "metadata": r.metadata,
                "recorded_at": r.recorded_at,
                "content_hash": r.content_hash,
                "prev_hash": r.prev_hash,
            }
            for r in rows
        ],
    )
