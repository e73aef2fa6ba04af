"""One append inside a transaction: dedupe, check the version, then reserve, chain, insert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore import rows
from eventstore.errors import ConcurrencyConflict, EventIdConflict
from eventstore.hashing import GENESIS_HASH, canonical_json, content_hash
from eventstore.records import NewEvent, StoredEvent
from eventstore.registry import EventRegistry

_RACE_CONSTRAINTS = frozenset({"pk_events", "uq_events_event_id"})


def normalise(registry: EventRegistry, event: NewEvent) -> NewEvent:
    """Validate ``event`` against its class; current-version data gets its canonical dump."""
    typed = registry.load(event.event_type, event.schema_version, event.data)
    if event.schema_version == typed.schema_version:
        return event.model_copy(update={"data": typed.model_dump(mode="json")})
    return event


def lost_a_race(err: IntegrityError) -> bool:
    """True when the insert collided with a concurrent writer's (stream, version) or id."""
    cause = err.orig.__cause__ if err.orig is not None else None  # asyncpg's own error
    return getattr(cause, "constraint_name", None) in _RACE_CONSTRAINTS


async def append_batch(
    conn: AsyncConnection, stream_id: str, batch: Sequence[NewEvent], expected_version: int
) -> list[StoredEvent]:
    """Append a normalised batch, or return it as stored if it was appended before.

    The read comes before the counter's lock, to keep the time appends queue on it
    short; a writer that read just before another committed collides on a unique
    constraint instead (IntegrityError, see ``lost_a_race`` and ``settle_race``).
    """
    found, head = await rows.lookup(conn, stream_id, [event.event_id for event in batch])
    stored = _same_batch(stream_id, batch, found)
    if stored is not None:
        return stored
    version, prev_hash = (head.version, head.content_hash) if head else (0, GENESIS_HASH)
    if version != expected_version:
        raise ConcurrencyConflict(stream_id, expected_version, version)
    first_position, now = await rows.reserve_positions(conn, len(batch))
    new_rows = []
    for offset, event in enumerate(batch):
        row = StoredEvent(
            position=first_position + offset,
            stream_id=stream_id,
            version=version + 1 + offset,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=event.data,
            metadata=event.metadata.model_dump(mode="json"),
            recorded_at=now,
            content_hash="",
            prev_hash=prev_hash,
        )
        row = replace(row, content_hash=content_hash(row))
        new_rows.append(row)
        prev_hash = row.content_hash
    await rows.insert_rows(conn, new_rows)
    return new_rows


async def settle_race(
    conn: AsyncConnection, stream_id: str, batch: Sequence[NewEvent], expected_version: int
) -> list[StoredEvent]:
    """After a lost race: the stored batch if the winner was this very batch, else a conflict."""
    found, head = await rows.lookup(conn, stream_id, [event.event_id for event in batch])
    stored = _same_batch(stream_id, batch, found)
    if stored is not None:
        return stored
    raise ConcurrencyConflict(stream_id, expected_version, head.version if head else 0)


def _fingerprint(
    stream_id: str, event_type: str, schema_version: int, data: object, metadata: object
) -> bytes:
    return canonical_json([stream_id, event_type, schema_version, data, metadata])


def _same_batch(
    stream_id: str, batch: Sequence[NewEvent], found: Sequence[StoredEvent]
) -> list[StoredEvent] | None:
    """The stored rows if this exact batch was appended before; None if none of it was."""
    if not found:
        return None
    by_id = {row.event_id: row for row in found}
    for event in batch:
        row = by_id.get(event.event_id)
        if row is None:
            raise EventIdConflict(event.event_id, "part of this batch is stored already")
        if row.stream_id != stream_id:
            raise EventIdConflict(event.event_id, f"already stored in stream {row.stream_id}")
        was = _fingerprint(
            row.stream_id, row.event_type, row.schema_version, row.data, row.metadata
        )
        now = _fingerprint(
            stream_id,
            event.event_type,
            event.schema_version,
            event.data,
            event.metadata.model_dump(mode="json"),
        )
        if was != now:
            raise EventIdConflict(event.event_id, "already stored with different content")
    return [by_id[event.event_id] for event in batch]
