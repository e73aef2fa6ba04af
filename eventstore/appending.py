"""One append: dedupe, check the version, reserve, chain, insert; and what its errors mean.

Two statements on asyncpg's connection itself (the ``driver`` under SQLAlchemy's pooled
connection; an append is two tiny statements, and SQLAlchemy's layers would cost more
CPU than the database spends on them), outside any explicit transaction:

1. reserve (read only): the stream's head, the clock, and the batch's positions from
   the sequence;
2. insert: the whole batch in one INSERT ... SELECT FROM unnest(...), guarded by the
   expected version; a single statement is its own transaction, committed at its end.

So the transaction is open only while the INSERT runs (it cannot hold the readers' xmin
back while the client is busy elsewhere), no lock orders appends to different streams,
and an append is two round trips where BEGIN / INSERT / COMMIT is three. Every wait is
bounded: the INSERT sets its own lock_timeout before writing, and the driver cancels a
statement that outlives the statement timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore import rows
from eventstore.errors import ConcurrencyConflict, EventIdConflict, TransactionTooOld
from eventstore.events import DomainEvent
from eventstore.hashing import GENESIS_HASH, canonical_json, content_hash
from eventstore.records import NewEvent, StoredEvent
from eventstore.registry import EventRegistry
from storage.engine import UNAVAILABLE_SQLSTATES

RACE_CONSTRAINTS = frozenset({"pk_events", "uq_events_event_id"})
"""A concurrent writer's (stream, version) or event id got in first."""
TIMEOUT_SQLSTATES = {
    "55P03": "lock_timeout: waited too long for a lock",
    "57014": "statement_timeout: the statement ran too long",
    "40P01": "deadlock detected",
    "25P03": "idle_in_transaction_session_timeout: the transaction was left idle",
}
"""PostgreSQL errors that mean "waited too long": the same append later can succeed."""


def normalise(registry: EventRegistry, event: NewEvent) -> tuple[NewEvent, DomainEvent]:
    """Validate ``event`` against its class: the event to store (current-version data gets
    its canonical dump) and the typed event it reads back as."""
    typed = registry.load(event.event_type, event.schema_version, event.data)
    if event.schema_version == typed.schema_version:
        return event.model_copy(update={"data": typed.model_dump(mode="json")}), typed
    return event, typed


@dataclass(frozen=True, slots=True)
class Settle:
    """The batch (some of it) is stored already, or a racing writer got in first: look
    again (``settle_race``) to tell a retry from a conflict."""

    guard_refused: bool = False
    """The INSERT ran and its guard let nothing in."""


async def append_batch(
    driver: Any,
    stream_id: str,
    batch: Sequence[NewEvent],
    expected_version: int,
    *,
    lock_timeout_ms: int,
    statement_timeout_s: float,
) -> list[StoredEvent] | Settle:
    """Append a normalised batch: the inserted rows, or Settle (nothing written) when the
    stream is not at ``expected_version`` (a retry of a batch stored since, or a
    conflict) or moved on between the two statements.

    A batch stored already always finds the stream past ``expected_version`` (or its ids
    taken, in another stream): the version check alone sends every retry to
    ``settle_race``, which returns the stored records. A racing writer still uncommitted
    can also make the insert fail on a unique constraint (see ``race_lost``).
    """
    reserved = await rows.reserve(
        driver, stream_id, len(batch), expected_version, timeout_s=statement_timeout_s
    )
    version, prev_hash, _ = reserved.head or (0, GENESIS_HASH, 0)
    if version != expected_version:
        return Settle()
    new_rows = []
    for offset, (event, position) in enumerate(zip(batch, reserved.positions, strict=True)):
        row = StoredEvent(
            position=position,
            stream_id=stream_id,
            version=version + 1 + offset,
            event_id=event.event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=event.data,
            metadata=event.metadata.model_dump(mode="json"),
            recorded_at=reserved.recorded_at,
            content_hash="",
            prev_hash=prev_hash,
        )
        row = replace(row, content_hash=content_hash(row))  # tx_id is not hashed
        new_rows.append(row)
        prev_hash = row.content_hash
    tx_id = await rows.insert_batch(
        driver,
        stream_id,
        new_rows,
        expected_version,
        lock_timeout_ms=lock_timeout_ms,
        timeout_s=statement_timeout_s,
    )
    if tx_id is None:
        return Settle(guard_refused=True)
    return [replace(row, tx_id=tx_id) for row in new_rows]


async def settle_race(
    conn: AsyncConnection,
    stream_id: str,
    batch: Sequence[NewEvent],
    expected_version: int,
    settle: Settle,
) -> list[StoredEvent]:
    """The stored batch if it was this very batch that got in (a retry, or a racing retry);
    else ConcurrencyConflict, or TransactionTooOld when the guard refused a stream still
    at the expected version."""
    found, head = await rows.lookup(conn, stream_id, [event.event_id for event in batch])
    stored = _same_batch(stream_id, batch, found)
    if stored is not None:
        return stored
    version = head.version if head else 0
    if settle.guard_refused and version == expected_version and head is not None:
        raise TransactionTooOld(stream_id, head.tx_id)
    raise ConcurrencyConflict(stream_id, expected_version, version)


def race_lost(err: BaseException) -> bool:
    """True when a driver error is a collision with a concurrent writer's (stream, version)
    or event id."""
    return getattr(err, "constraint_name", None) in RACE_CONSTRAINTS


def timeout_reason(err: BaseException) -> str | None:
    """What ran out, if ``err`` (a driver error, or SQLAlchemy's around one) is a wait
    the database cut short (lock, statement, deadlock, idle transaction); else None."""
    return TIMEOUT_SQLSTATES.get(_sqlstate(err) or "")


def connection_lost(err: BaseException) -> bool:
    """The connection is gone or the server is not serving: the pool must drop it."""
    if isinstance(err, OSError):
        return True
    state = _sqlstate(err)
    if state is None:  # asyncpg's client-side errors: closed connection, protocol state
        client_side = type(err).__module__.startswith("asyncpg") and not isinstance(err, ValueError)
        return client_side and "InterfaceError" in _names(err)
    return state.startswith("08") or state in UNAVAILABLE_SQLSTATES


def as_sqlalchemy(err: BaseException, statement: str) -> DBAPIError:
    """The SQLAlchemy error callers already handle for a raw driver error (the API answers
    503 to OperationalError, 422 to a data error, as for any other statement)."""
    if connection_lost(err):
        return OperationalError(statement, None, err, connection_invalidated=True)
    if (_sqlstate(err) or "").startswith("23"):
        return IntegrityError(statement, None, err)
    return DBAPIError(statement, None, err)


def _names(err: BaseException) -> str:
    return " ".join(cls.__name__ for cls in type(err).__mro__)


def _sqlstate(err: BaseException) -> str | None:
    seen: BaseException | None = err
    for _ in range(3):  # the error itself, SQLAlchemy's adapted error, asyncpg's cause
        if seen is None:
            break
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


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
