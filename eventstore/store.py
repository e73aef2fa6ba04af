"""The event store: append with optimistic concurrency and idempotency, read, verify."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore import rows
from eventstore.appending import (
    Settle,
    append_batch,
    as_sqlalchemy,
    connection_lost,
    normalise,
    race_lost,
    settle_race,
    timeout_reason,
)
from eventstore.errors import EventStoreError, StoreTimeout
from eventstore.events import DomainEvent
from eventstore.gc_pause import cyclic_gc_paused
from eventstore.records import (
    ORIGIN,
    EventMetadata,
    LogPosition,
    NewEvent,
    RecordedEvent,
    StoredEvent,
)
from eventstore.registry import EventRegistry, default_registry
from eventstore.verify import ChainReport, verify_chain

LOCK_TIMEOUT_MS = 2_000
"""Longest wait for a lock: a racing retry of the same batch, or DDL holding the table."""
STATEMENT_TIMEOUT_MS = 5_000
"""Longest statement of an append or a read; an append is a few milliseconds."""


class EventStore:
    """recouvre's events in PostgreSQL: one stream per case, one global order.

    Appends to different streams never wait for each other (no counter, no lock: see
    ``eventstore.appending``). Every wait is bounded: an append's INSERT sets its own
    ``lock_timeout`` and the driver cancels a statement that outlives
    ``statement_timeout_ms``; reads run in short READ ONLY transactions with both set, and
    take no lock an append waits for. Running out raises StoreTimeout, with nothing
    written: the same call can simply be retried.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        registry: EventRegistry | None = None,
        *,
        lock_timeout_ms: int = LOCK_TIMEOUT_MS,
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    ) -> None:
        self._engine = engine
        self._registry = registry or default_registry()
        self._lock_timeout_ms = lock_timeout_ms
        self._statement_timeout_ms = statement_timeout_ms

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> list[RecordedEvent]:
        """Append ``events`` atomically as versions expected_version + 1, + 2... of the stream.

        ``expected_version`` is the version the writer last saw (0 for a new stream);
        ConcurrencyConflict when the stream is elsewhere. When every event id of the batch
        is stored already with the same content (a retry) nothing is written and the stored
        records are returned, whatever the stream's version now; an id stored with other
        content raises EventIdConflict. Each event is validated against its class first.
        The batch is one INSERT statement in one transaction; StoreTimeout (retryable) if a
        wait ran out.
        """
        if not stream_id:
            raise ValueError("stream_id must not be empty")
        if expected_version < 0:
            raise ValueError("expected_version is 0 for a new stream, never negative")
        if len({event.event_id for event in events}) != len(events):
            raise ValueError("a batch cannot hold the same event id twice")
        if not events:
            return []
        normalised = [normalise(self._registry, event) for event in events]
        batch = [event for event, _ in normalised]
        written = await self._append_once(stream_id, batch, expected_version)
        if isinstance(written, Settle):  # stored before, or a racing writer got in first
            async with self._reading() as conn:
                stored = await settle_race(conn, stream_id, batch, expected_version, written)
            return [self._record(row) for row in stored]
        return [
            self._record(row, typed, event.metadata)
            for row, (event, typed) in zip(written, normalised, strict=True)
        ]

    async def _append_once(
        self, stream_id: str, batch: Sequence[NewEvent], expected_version: int
    ) -> list[StoredEvent] | Settle:
        """The two statements on the pooled connection's driver, errors made the store's."""
        async with self._engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            try:
                return await append_batch(
                    driver,
                    stream_id,
                    batch,
                    expected_version,
                    lock_timeout_ms=self._lock_timeout_ms,
                    statement_timeout_s=self._statement_timeout_ms / 1000,
                )
            except EventStoreError:
                raise
            except TimeoutError as err:  # the driver cancelled a statement that ran too long
                await conn.invalidate()
                waited = f"statement_timeout: no answer within {self._statement_timeout_ms} ms"
                raise StoreTimeout(f"append to stream {stream_id}", waited) from err
            except Exception as err:
                if race_lost(err):
                    return Settle()
                reason = timeout_reason(err)
                if reason is not None:
                    raise StoreTimeout(f"append to stream {stream_id}", reason) from err
                if _from_driver(err):
                    if connection_lost(err):
                        await conn.invalidate()
                    raise as_sqlalchemy(err, "INSERT INTO events (append)") from err
                raise
            except BaseException:  # cancelled mid-statement: the connection's state is unknown
                await conn.invalidate()
                raise

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on, in version order, typed and upcast."""
        async with self._reading() as conn:
            found = await rows.stream_rows(conn, stream_id, from_version)
        return [self._record(row) for row in found]

    async def read_all(
        self,
        after_position: LogPosition | int = ORIGIN,
        limit: int = 1000,
        *,
        trusted: bool = False,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events of every stream after ``after_position``, in global order.

        The global order is ``(tx_id, position)`` (``RecordedEvent.log_position``), and
        only events whose transaction is below every one still running are returned: an
        append that commits later always sorts after them. A reader that stores the
        ``log_position`` of the last event it applied, in the same transaction as its
        rows, resumes skipping nothing and applying nothing twice. An int is the position
        of an event (0: the start), for callers that kept one: they resume after it.

        ``trusted``: the events are the same, but current-version rows skip the amount
        checks they passed when appended (``rows.trusted_decoder``): for the projector,
        which reads the whole log. Auditors and every other reader keep the default.
        """
        async with self._reading(in_index_order=True) as conn:
            after = await self._log_position(conn, after_position)
            found = await rows.rows_after(conn, after, limit)
        return await self._logged(found, trusted=trusted)

    async def log_position(self, position: int) -> LogPosition | None:
        """The place in the global order of the event at ``position``; None if none is."""
        async with self._reading() as conn:
            return await rows.log_position_of(conn, position)

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version (0 when it has no events)."""
        async with self._reading() as conn:
            head = await rows.stream_head(conn, stream_id)
        return 0 if head is None else head[0]

    async def verify_stream(self, stream_id: str) -> ChainReport:
        """Recompute every hash and link of the stream: the first break, or ok and the head."""
        async with self._reading() as conn:
            found = await rows.stream_rows(conn, stream_id)
        return verify_chain(stream_id, found)

    @asynccontextmanager
    async def _reading(self, *, in_index_order: bool = False) -> AsyncIterator[AsyncConnection]:
        """A short READ ONLY transaction with bounded waits: no transaction id, no row lock."""
        async with self._engine.connect() as conn:
            await conn.execution_options(postgresql_readonly=True)
            try:
                await rows.bound_waits(
                    conn,
                    lock_timeout_ms=self._lock_timeout_ms,
                    statement_timeout_ms=self._statement_timeout_ms,
                    in_index_order=in_index_order,
                )
                yield conn
            except EventStoreError:
                raise
            except Exception as err:  # SQLAlchemy's errors, or the driver's (rows_after)
                reason = timeout_reason(err)
                if reason is not None:
                    raise StoreTimeout("read", reason) from err
                if isinstance(err, DBAPIError) or not _from_driver(err):
                    raise
                if connection_lost(err):
                    await conn.invalidate()
                raise as_sqlalchemy(err, rows.AFTER_SQL) from err

    @staticmethod
    async def _log_position(conn: AsyncConnection, after: LogPosition | int) -> LogPosition:
        if isinstance(after, LogPosition):
            return after
        if after < 0:
            raise ValueError("after_position is 0 (the start) or an event's position")
        if after == 0:
            return ORIGIN
        found = await rows.log_position_of(conn, after)
        if found is None:
            raise ValueError(f"no event at position {after}: pass a LogPosition")
        return found

    def _record(
        self,
        row: StoredEvent,
        typed: DomainEvent | None = None,
        metadata: EventMetadata | None = None,
    ) -> RecordedEvent:
        """The typed record of a row (``typed`` and ``metadata``: as just validated)."""
        if typed is None:
            typed = self._registry.load(row.event_type, row.schema_version, row.data)
        if metadata is None:
            metadata = EventMetadata.model_validate(row.metadata)
        return RecordedEvent(
            position=row.position,
            stream_id=row.stream_id,
            version=row.version,
            event_id=row.event_id,
            event=typed,
            stored_schema_version=row.schema_version,
            metadata=metadata,
            recorded_at=row.recorded_at,
            content_hash=row.content_hash,
            prev_hash=row.prev_hash,
            tx_id=row.tx_id,
        )

    async def _logged(
        self, found: Sequence[rows.LogRow], *, trusted: bool = False, chunk: int = 500
    ) -> list[RecordedEvent]:
        """Typed records of the global reader's rows, validated from their JSON text
        (pydantic parses it in one pass; ``trusted``: see ``read_all``); each chunk
        shares its metadata objects (a case's events mostly carry the same), they are
        frozen.

        ``chunk`` rows at a time, the event loop served in between: a replay reads
        thousands at once while its writer, on the same loop, waits on every round trip
        (and the worker's other tasks on their turn). The cyclic collector stays paused
        throughout: one collection of the batch when it ends, not one per chunk."""
        records: list[RecordedEvent] = []
        with cyclic_gc_paused():
            for start in range(0, len(found), chunk):
                if start:
                    await asyncio.sleep(0)
                records += self._decode(found[start : start + chunk], trusted=trusted)
        return records

    def _decode(
        self, found: Sequence[rows.LogRow], *, trusted: bool = False
    ) -> list[RecordedEvent]:
        # Per type: what reads its JSON (the validate_json model_validate_json calls, less
        # a Python frame per event; trusted: rows.trusted_decoder) and its version.
        current: dict[str, tuple[Callable[[str], DomainEvent], int]] = {}
        metadata: dict[str, EventMetadata] = {}
        records = []
        build = rows.record_twin()  # then made a RecordedEvent: see there
        for row in found:
            (position, stream_id, version, event_id, event_type, stored_version, data, meta,
             recorded_at, content_hash, prev_hash, tx_id) = row  # fmt: skip
            kind = current.get(event_type)
            if kind is None:
                cls = self._registry.class_for(event_type)
                read = (
                    rows.trusted_decoder(cls)
                    if trusted
                    else cls.__pydantic_validator__.validate_json
                )
                kind = current[event_type] = (read, cls.schema_version)
            if stored_version == kind[1]:
                event = kind[0](data)
            else:
                event = self._registry.load(event_type, stored_version, json.loads(data))
            about = metadata.get(meta)
            if about is None:
                about = metadata[meta] = EventMetadata.model_validate_json(meta)
            record = build(
                position, stream_id, version, event_id, event, stored_version, about,
                recorded_at, content_hash, prev_hash, tx_id,
            )  # fmt: skip
            record.__class__ = RecordedEvent
            records.append(record)
        return records


def _from_driver(err: BaseException) -> bool:
    """An error asyncpg raised itself (SQLAlchemy did not wrap it)."""
    return type(err).__module__.startswith("asyncpg") or isinstance(err, OSError)
