"""Writers that hold their transaction open, and the two tailing readers the tests race.

The store's own append is two statements outside any explicit transaction, so its
transaction lives only while its INSERT runs: too short to lose a race on purpose. An
``OpenWriter`` appends the same way, inside a transaction it commits (or rolls back) when
the test says so, which is what a slow or stalled commit looks like to a reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore import rows
from eventstore.appending import Settle, append_batch, normalise
from eventstore.records import ORIGIN, LogPosition, NewEvent, RecordedEvent, StoredEvent
from eventstore.registry import default_registry
from eventstore.store import EventStore


class OpenWriter:
    """One connection, one explicit transaction: append, then commit or roll back."""

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self._conn, self.driver = conn, driver

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int
    ) -> list[StoredEvent] | None:
        """The rows written (not committed yet), or None if the stream is elsewhere."""
        batch = [normalise(default_registry(), event)[0] for event in events]
        written = await append_batch(
            self.driver,
            stream_id,
            batch,
            expected_version,
            lock_timeout_ms=5_000,
            statement_timeout_s=10,
        )
        return None if isinstance(written, Settle) else written

    async def tx_id(self) -> int:
        """This transaction's id (taken now if it has none yet)."""
        tx_id: int = await self.driver.fetchval("SELECT pg_current_xact_id()")
        return tx_id

    async def commit(self) -> None:
        await self.driver.execute("COMMIT")

    async def rollback(self) -> None:
        await self.driver.execute("ROLLBACK")


@asynccontextmanager
async def open_writer(engine: AsyncEngine) -> AsyncIterator[OpenWriter]:
    """A writer whose transaction is open until it commits or rolls back (rolled back if
    the block leaves without either)."""
    async with engine.connect() as conn:
        driver: Any = (await conn.get_raw_connection()).driver_connection
        await driver.execute("BEGIN")
        try:
            yield OpenWriter(conn, driver)
        finally:
            if driver.is_in_transaction():
                await driver.execute("ROLLBACK")


class TailingReader:
    """The store's reader: resumes after the (tx_id, position) of the last event it read."""

    def __init__(self, store: EventStore, after: LogPosition = ORIGIN) -> None:
        self.store, self.checkpoint = store, after

    async def poll(self, limit: int = 500) -> list[RecordedEvent]:
        found = await self.store.read_all(after_position=self.checkpoint, limit=limit)
        if found:
            self.checkpoint = found[-1].log_position
        return found

    async def drain(self) -> list[RecordedEvent]:
        seen: list[RecordedEvent] = []
        while batch := await self.poll():
            seen.extend(batch)
        return seen


class NaiveReader:
    """The control: ``position > checkpoint`` in position order, as before migration 0008."""

    def __init__(self, engine: AsyncEngine, after: int = 0) -> None:
        self.engine, self.checkpoint = engine, after

    async def poll(self, limit: int = 500) -> list[StoredEvent]:
        async with self.engine.connect() as conn:
            found = await rows.naive_rows_after(conn, self.checkpoint, limit)
        if found:
            self.checkpoint = found[-1].position
        return found

    async def drain(self) -> list[StoredEvent]:
        seen: list[StoredEvent] = []
        while batch := await self.poll():
            seen.extend(batch)
        return seen


async def caught_up(engine: AsyncEngine, store: EventStore) -> tuple[TailingReader, NaiveReader]:
    """Both readers, past everything committed so far."""
    async with engine.connect() as conn:
        last = (
            await conn.exec_driver_sql(
                "SELECT tx_id, position FROM events"
                " WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())"
                " ORDER BY tx_id DESC, position DESC LIMIT 1"
            )
        ).first()
    reader = TailingReader(store, ORIGIN if last is None else LogPosition(last[0], last[1]))
    await reader.drain()
    async with engine.connect() as conn:
        top = await conn.exec_driver_sql("SELECT coalesce(max(position), 0) FROM events")
        naive = NaiveReader(engine, int(top.scalar_one()))
    return reader, naive
