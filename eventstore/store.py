"""The event store: append with optimistic concurrency and idempotency, read, verify."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore import rows
from eventstore.appending import append_batch, lost_a_race, normalise, settle_race
from eventstore.records import EventMetadata, NewEvent, RecordedEvent, StoredEvent
from eventstore.registry import EventRegistry, default_registry
from eventstore.verify import ChainReport, verify_chain


class EventStore:
    """recouvre's events in PostgreSQL: one stream per case, one global order."""

    def __init__(self, engine: AsyncEngine, registry: EventRegistry | None = None) -> None:
        self._engine = engine
        self._registry = registry or default_registry()

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically as versions expected_version + 1, + 2... of the stream.

        ``expected_version`` is the version the writer last saw (0 for a new stream);
        ConcurrencyConflict when the stream is elsewhere. When every event id of the batch
        is stored already with the same content (a retry) nothing is written and the stored
        records are returned, whatever the stream's version now; an id stored with other
        content raises EventIdConflict. Each event is validated against its class first.
        """
        if not stream_id:
            raise ValueError("stream_id must not be empty")
        if expected_version < 0:
            raise ValueError("expected_version is 0 for a new stream, never negative")
        if len({event.event_id for event in events}) != len(events):
            raise ValueError("a batch cannot hold the same event id twice")
        if not events:
            return []
        batch = [normalise(self._registry, event) for event in events]
        try:
            async with self._engine.begin() as conn:
                stored = await append_batch(conn, stream_id, batch, expected_version)
        except IntegrityError as err:
            if not lost_a_race(err):
                raise
            async with self._engine.connect() as conn:
                stored = await settle_race(conn, stream_id, batch, expected_version)
        return [self._record(row) for row in stored]

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on, in version order, typed and upcast."""
        async with self._engine.connect() as conn:
            found = await rows.stream_rows(conn, stream_id, from_version)
        return [self._record(row) for row in found]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events of every stream after ``after_position``, in global order.

        Positions commit in order with no gaps, so a projector that stores the last
        position it applied, in the same transaction as its rows, resumes skipping nothing.
        """
        async with self._engine.connect() as conn:
            found = await rows.rows_after(conn, after_position, limit)
        return [self._record(row) for row in found]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version (0 when it has no events)."""
        async with self._engine.connect() as conn:
            head = await rows.stream_head(conn, stream_id)
        return 0 if head is None else head[0]

    async def verify_stream(self, stream_id: str) -> ChainReport:
        """Recompute every hash and link of the stream: the first break, or ok and the head."""
        async with self._engine.connect() as conn:
            found = await rows.stream_rows(conn, stream_id)
        return verify_chain(stream_id, found)

    def _record(self, row: StoredEvent) -> RecordedEvent:
        return RecordedEvent(
            position=row.position,
            stream_id=row.stream_id,
            version=row.version,
            event_id=row.event_id,
            event=self._registry.load(row.event_type, row.schema_version, row.data),
            stored_schema_version=row.schema_version,
            metadata=EventMetadata.model_validate(row.metadata),
            recorded_at=row.recorded_at,
            content_hash=row.content_hash,
            prev_hash=row.prev_hash,
        )
