"""SQL on the events table: rows in, StoredEvent out (and the decoder of rows trusted as
written: see ``trusted_decoder``). No business rules here.

The global order is ``(tx_id, position)``: ``tx_id`` is the writing transaction's id
(xid8, rising, never reused in a cluster), ``position`` comes from a sequence. A reader
takes only rows with ``tx_id`` below the oldest transaction still running (the xmin of its
snapshot): every transaction below has ended, so nothing that commits later can sort before
what it read. Positions have gaps (a rolled-back append keeps its numbers) and no lock
orders appends: two appends to different streams never wait for each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass, make_dataclass
from datetime import datetime
from functools import cache
from typing import Any, get_args
from uuid import UUID

from pydantic import BeforeValidator
from pydantic_core import SchemaValidator
from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore.events import DomainEvent
from eventstore.records import LogPosition, RecordedEvent, StoredEvent
from schemas.money import Amount, BoundedAmount
from storage.tables import events

_COLUMNS = (
    "position, stream_id, version, event_id, event_type, schema_version, data, metadata,"
    " recorded_at, content_hash, prev_hash, tx_id"
)
"""The order ``_stored`` reads them in (StoredEvent's field order)."""
_SEQUENCE = "events_position_seq"
"""The identity sequence of events.position (migration 0008)."""


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _stored(row: Row[Any] | Sequence[Any]) -> StoredEvent:
    return StoredEvent(*row[:12])


async def bound_waits(
    conn: AsyncConnection,
    *,
    lock_timeout_ms: int,
    statement_timeout_ms: int,
    in_index_order: bool = False,
) -> None:
    """Limit this transaction's waits (SET LOCAL: gone at its end, whatever the pool does).

    A statement of its own, first in the transaction, so it bounds every later one,
    including their table locks. ``in_index_order``: the global reader's range is read
    along its index, never gathered and sorted (the planner cannot know how many rows are
    below the snapshot's xmin, guesses a third, and would sort them all, on disk).
    """
    await conn.execute(
        text(
            "SELECT set_config('lock_timeout', :lock, true),"
            " set_config('statement_timeout', :statement, true),"
            " set_config('enable_sort', :sort, true)"
        ),
        {
            "lock": f"{lock_timeout_ms}ms",
            "statement": f"{statement_timeout_ms}ms",
            "sort": "off" if in_index_order else "on",
        },
    )


async def stream_rows(
    conn: AsyncConnection, stream_id: str, from_version: int = 1
) -> list[StoredEvent]:
    """The stream's rows from ``from_version`` on, in version order."""
    query = text(
        f"SELECT {_COLUMNS} FROM events WHERE stream_id = :stream_id AND version >= :version"
        " ORDER BY version"
    )
    found = await conn.execute(query, {"stream_id": stream_id, "version": from_version})
    return [_stored(row) for row in found]


AFTER_SQL = (
    "SELECT position, stream_id, version, event_id, event_type, schema_version,"
    " data::text, metadata::text, recorded_at, content_hash, prev_hash, tx_id"
    " FROM events"
    " WHERE (tx_id, position) > ($1::xid8, $2::bigint)"
    " AND tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))"
    " ORDER BY tx_id, position LIMIT $3::int"
)
LogRow = tuple[int, str, int, UUID, str, int, str, str, datetime, str, str, int]
"""A row of ``AFTER_SQL``: StoredEvent's fields in order, data and metadata as JSON text."""


async def rows_after(conn: AsyncConnection, after: LogPosition, limit: int) -> Sequence[LogRow]:
    """Up to ``limit`` rows after ``after`` in the global order, none that could still be
    passed by a later commit (their transactions are all below the snapshot's xmin).

    Through the driver, in ``conn``'s transaction (SQLAlchemy's rows would cost more than
    the query); run it before that transaction writes anything: a transaction id of its
    own would hold the xmin back (correct, only later).
    """
    driver: Any = (await conn.get_raw_connection()).driver_connection
    found: Sequence[LogRow] = await driver.fetch(AFTER_SQL, after.tx_id, after.position, limit)
    return found


_AMOUNT_CHECKS = tuple(
    check.func
    for kind in (Amount, BoundedAmount)
    for check in get_args(kind)[1:]
    if isinstance(check, BeforeValidator)
)
"""The Python validators of ``schemas.money``'s amounts (they refuse anything but a
positive decimal string of at most two decimals, then quantize it to the cent)."""


@cache
def trusted_decoder(cls: type[DomainEvent]) -> Callable[[str], DomainEvent]:
    """Reads the current-version JSON of ``cls`` in rows this store wrote: the event the
    full validation gives, less the amount checks.

    Such a row holds ``cls``'s canonical dump of an event validated at append
    (``appending.normalise``): its amounts are two-decimal strings, which the decimal
    schema alone reads as exactly the Decimal the check would return. Every field is
    still parsed and type-checked by pydantic's core (the model's fields schema, built
    once); the instance is then set up as ``BaseModel.model_construct`` does. The checks
    are a Python call per amount, the model's own validator cannot leave them out, and
    a replay reads every event of the log: only the projector reads this way
    (``EventStore.read_all(trusted=True)``). A class of another shape (a root model,
    private attributes, a model validator...) gets its full validator.
    """
    schema: Any = cls.__pydantic_core_schema__
    plain = (
        schema.get("type") == "model"
        and schema.get("cls") is cls
        and not schema.get("root_model")
        and not schema.get("custom_init")
        and not schema.get("post_init")
        and schema["schema"].get("type") == "model-fields"
        and cls.__pydantic_post_init__ is None
        and not cls.__private_attributes__
    )
    if not plain:
        full: Callable[[str], DomainEvent] = cls.__pydantic_validator__.validate_json
        return full
    checker = SchemaValidator(_without_amount_checks(schema["schema"]), schema.get("config"))
    validate, new, setattr_ = checker.validate_json, object.__new__, object.__setattr__

    def decode(data: str) -> DomainEvent:
        values, extra, fields_set = validate(data)
        event: DomainEvent = new(cls)
        setattr_(event, "__dict__", values)
        setattr_(event, "__pydantic_extra__", extra)
        setattr_(event, "__pydantic_fields_set__", fields_set)
        setattr_(event, "__pydantic_private__", None)
        return event

    return decode


def _without_amount_checks(schema: Any) -> Any:
    """A copy of a core schema whose amount validators are replaced by the schema they
    wrap (their decimal)."""
    if isinstance(schema, list):
        return [_without_amount_checks(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "function-before":
        function = schema.get("function")
        if isinstance(function, dict) and function.get("function") in _AMOUNT_CHECKS:
            return _without_amount_checks(schema["schema"])
    return {key: _without_amount_checks(value) for key, value in schema.items()}


@cache
def record_twin() -> type[Any]:
    """An unfrozen twin of RecordedEvent, for the global reader's hot loop: a record built
    with it and given ``__class__ = RecordedEvent`` is the very object RecordedEvent's
    constructor makes (same slots, same values, frozen from then on), for a third of the
    cost: the frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, and a replay builds one record per event of the log.

    RecordedEvent itself when it is not a plain slots dataclass (an ``__init__`` of its
    own, a ``__post_init__``): then the constructor is the only way.
    """
    plain = (
        is_dataclass(RecordedEvent)
        and getattr(RecordedEvent, "__dataclass_params__").init  # noqa: B009 - no stub
        and "__slots__" in vars(RecordedEvent)
        and not hasattr(RecordedEvent, "__post_init__")
        and not any(f.default_factory is not MISSING or not f.init for f in fields(RecordedEvent))
    )
    if not plain:
        return RecordedEvent
    twin = make_dataclass(
        "UnfrozenRecordedEvent", [(f.name, f.type) for f in fields(RecordedEvent)], slots=True
    )
    probe = twin(*range(len(fields(RecordedEvent))))
    probe.__class__ = RecordedEvent  # TypeError here if the layouts ever differ
    return twin


async def naive_rows_after(conn: AsyncConnection, position: int, limit: int) -> list[StoredEvent]:
    """``position > N`` in position order, as the store read before migration 0008.

    Unsafe with concurrent appends (a slow transaction commits a smaller position after a
    reader moved past it): kept only as the control in the tests and benchmarks.
    """
    query = text(
        f"SELECT {_COLUMNS} FROM events WHERE position > :position ORDER BY position LIMIT :limit"
    )
    found = await conn.execute(query, {"position": position, "limit": limit})
    return [_stored(row) for row in found]


async def log_position_of(conn: AsyncConnection, position: int) -> LogPosition | None:
    """The place in the global order of the event at ``position``; None if there is none."""
    query = select(events.c.tx_id).where(events.c.position == position)
    tx_id: int | None = (await conn.execute(query)).scalar_one_or_none()
    return None if tx_id is None else LogPosition(tx_id, position)


# --- the append path: asyncpg's connection itself (``driver``), two statements ---


@dataclass(frozen=True, slots=True)
class Reservation:
    """What an append learns in its first statement."""

    head: tuple[int, str, int] | None
    """(version, content_hash, tx_id) of the stream's last event; None for a new stream."""
    recorded_at: datetime
    positions: list[int]
    """One new position per event, rising; [] when the stream is not at the expected
    version (nothing will be written, no position is used up)."""


RESERVE_SQL = (
    "SELECT h.version, h.content_hash, h.tx_id, clock_timestamp(),"
    " CASE WHEN coalesce(h.version, 0) = $2::int"
    f"  THEN ARRAY(SELECT nextval('{_SEQUENCE}') FROM generate_series(1, $3::int)) END"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN LATERAL (SELECT version, content_hash, tx_id FROM events"
    "  WHERE stream_id = $1::varchar ORDER BY version DESC LIMIT 1) AS h ON true"
)


async def reserve(
    driver: Any, stream_id: str, count: int, expected_version: int, *, timeout_s: float
) -> Reservation:
    """One read-only statement: the stream's head, the clock, and, when the stream is at
    ``expected_version``, ``count`` positions from the sequence.

    Outside any transaction: it writes nothing (a sequence is not transactional) and
    takes no transaction id. Its only possible wait is for a table lock held by DDL,
    bounded by ``timeout_s`` (the driver cancels the statement).
    """
    row = await driver.fetchrow(RESERVE_SQL, stream_id, expected_version, count, timeout=timeout_s)
    head = None if row[0] is None else (row[0], row[1], row[2])
    return Reservation(head, row[3], sorted(row[4] or []))


INSERT_SQL = (
    "INSERT INTO events (position, stream_id, version, event_id, event_type, schema_version,"
    " data, metadata, recorded_at, content_hash, prev_hash)"
    " SELECT b.position, $1::varchar, b.version, b.event_id, b.event_type, b.schema_version,"
    " b.data::jsonb, b.metadata::jsonb, $2::timestamptz, b.content_hash, b.prev_hash"
    " FROM unnest($4::bigint[], $5::int[], $6::uuid[], $7::text[], $8::int[], $9::text[],"
    " $10::text[], $11::text[], $12::text[])"
    " AS b(position, version, event_id, event_type, schema_version, data, metadata,"
    " content_hash, prev_hash)"
    # Evaluated once, before the first row goes in: this transaction's lock waits (a
    # racing writer of the same version or id, uncommitted) end after $13.
    " WHERE set_config('lock_timeout', $13::text, true) IS NOT NULL"
    # The guard: the stream is still where the writer saw it, and its last event is not
    # from a younger transaction (it would sort after this batch in the global order).
    " AND coalesce((SELECT h.version = $3::int AND h.tx_id <= pg_current_xact_id()"
    "  FROM events AS h WHERE h.stream_id = $1::varchar ORDER BY h.version DESC LIMIT 1),"
    " $3::int = 0)"
    " RETURNING tx_id"
)


async def insert_batch(
    driver: Any,
    stream_id: str,
    batch: Sequence[StoredEvent],
    expected_version: int,
    *,
    lock_timeout_ms: int,
    timeout_s: float,
) -> int | None:
    """Insert one stream's batch (hashes and positions computed) in one statement: outside
    a transaction, the statement is the transaction, and its commit.

    The writing transaction's id; None, and nothing written, when the stream moved on
    meanwhile (or, inside a caller's transaction, when that one is older than the
    stream's last writer). A racing writer still uncommitted makes it wait (at most
    ``lock_timeout_ms``), then fail on a unique constraint.
    """
    written = await driver.fetch(
        INSERT_SQL,
        stream_id,
        batch[0].recorded_at,
        expected_version,
        [r.position for r in batch],
        [r.version for r in batch],
        [r.event_id for r in batch],
        [r.event_type for r in batch],
        [r.schema_version for r in batch],
        [_json(r.data) for r in batch],
        [_json(r.metadata) for r in batch],
        [r.content_hash for r in batch],
        [r.prev_hash for r in batch],
        f"{int(lock_timeout_ms)}ms",
        timeout=timeout_s,
    )
    if len(written) != len(batch):
        return None
    tx_id: int = written[0][0]
    return tx_id


async def lookup(
    conn: AsyncConnection, stream_id: str, event_ids: Sequence[UUID]
) -> tuple[list[StoredEvent], StoredEvent | None]:
    """Rows already stored under any of ``event_ids``, and the stream's last row.

    One statement, hence one snapshot: a batch committed meanwhile by a racing retry is
    seen either in both answers or in neither.
    """
    query = text(
        f"SELECT {_COLUMNS}, false AS is_head FROM events"
        " WHERE event_id = ANY(CAST(:event_ids AS uuid[]))"
        f" UNION ALL (SELECT {_COLUMNS}, true FROM events WHERE stream_id = :stream_id"
        " ORDER BY version DESC LIMIT 1)"
    )
    found, last = [], None
    for row in await conn.execute(query, {"event_ids": list(event_ids), "stream_id": stream_id}):
        if row[12]:
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
