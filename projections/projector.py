"""The projector: follows the event store's global order and keeps the read tables.

Each batch is one transaction that (1) locks this projection's checkpoint row, (2) reads
the events after it, (3) writes the rows they change and (4) moves the checkpoint to the
last of them. A crash anywhere before the commit leaves rows and checkpoint as they were,
so the batch is applied again in full, once; a second projector (another process) waits
on the lock and then starts where the first one stopped.

The checkpoint is a place in the global order, the pair (tx_id, position) of the last
event applied (``eventstore.records.LogPosition``); the store only hands out events that
no later commit can sort before, so resuming after the pair never skips one. Rows are
written with one statement per table and batch: new rows and ledger entries by COPY
(``_copy``), changed rows in one upsert (arrays unnested server-side). The events are
read trusted (``EventStore.read_all(trusted=True)``): the store validated them when they
were appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from operator import attrgetter
from typing import Any, get_args, get_type_hints

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    Integer,
    Numeric,
    String,
    Table,
    and_,
    any_,
    bindparam,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.errors import StoreTimeout
from eventstore.events import InvoiceRegistered
from eventstore.gc_pause import cyclic_gc_paused
from eventstore.records import ORIGIN, LogPosition, RecordedEvent
from eventstore.store import EventStore
from projections.case_rows import CaseRow, Movement, apply_event, open_case
from storage.tables import balance_movements, case_list, cases, checkpoints, events

log = logging.getLogger("recouvre.projections")

PROJECTION = "case_reports"
"""The checkpoint name of the case list and the receivables ledger."""
BATCH_SIZE = 500
"""Events per batch while following the log."""
REBUILD_BATCH_SIZE = 5000
"""Events per batch when replaying the whole log: fewer, larger transactions."""
MAX_BACKOFF_S = 5.0
YIELD_EVERY = 100
"""Events folded between two yields to the event loop (the projector runs in the worker)."""

BatchHook = Callable[[AsyncConnection], Awaitable[None]]


async def current_checkpoint(conn: AsyncConnection) -> LogPosition:
    """Where the read tables are in the global order (ORIGIN before the first batch)."""
    query = select(checkpoints.c.tx_id, checkpoints.c.position).where(
        checkpoints.c.name == PROJECTION
    )
    row = (await conn.execute(query)).first()
    return ORIGIN if row is None else LogPosition(row.tx_id, row.position)


async def current_position(conn: AsyncConnection) -> int:
    """The position of the last event the read tables include (0 before the first batch).

    Events with a smaller position may still be missing (positions are not the order of
    the log): to know whether one event is in, ask ``includes``.
    """
    return (await current_checkpoint(conn)).position


async def includes(conn: AsyncConnection, position: int) -> bool:
    """True when the event at ``position`` is applied; False if not yet, or if none is."""
    applied = (
        select(events.c.position)
        .join(checkpoints, checkpoints.c.name == PROJECTION)
        .where(
            events.c.position == position,
            tuple_(events.c.tx_id, events.c.position)
            <= tuple_(checkpoints.c.tx_id, checkpoints.c.position),
        )
    )
    return (await conn.execute(applied)).first() is not None


async def project_batch(
    engine: AsyncEngine,
    store: EventStore,
    limit: int = BATCH_SIZE,
    *,
    before_commit: BatchHook | None = None,
) -> int:
    """Apply the next (up to) ``limit`` events and the checkpoint in one transaction.

    Returns how many events the batch held (0: caught up). ``before_commit`` gets the
    batch's connection after the rows are written, before the checkpoint moves; if it
    raises, nothing of the batch is kept (tests crash the projector there).
    """
    return await _project(engine, partial(_read, store, limit=limit), before_commit)


Reader = Callable[[LogPosition], Awaitable[list[RecordedEvent]]]


async def _read(store: EventStore, after: LogPosition, *, limit: int) -> list[RecordedEvent]:
    return await store.read_all(after_position=after, limit=limit, trusted=True)


async def _project(engine: AsyncEngine, read: Reader, before_commit: BatchHook | None) -> int:
    async with engine.begin() as conn:
        await _commit_without_waiting_for_disk(conn)
        after = await _lock_checkpoint(conn)
        # In the store's own READ ONLY transaction: the snapshot it filters on is not held
        # back by this one's transaction id (taken by the lock above).
        records = await read(after)
        if not records:
            return 0
        await _write(conn, await _fold(conn, records))
        if before_commit is not None:
            await before_commit(conn)
        await _move_checkpoint(conn, records[-1].log_position)
    return len(records)


async def _commit_without_waiting_for_disk(conn: AsyncConnection) -> None:
    """The batch's commit does not wait for its WAL to reach the disk.

    Safe for derived rows: a crash can only lose the last batches whole, rows and
    checkpoint together (one transaction), and they are applied again on restart.
    """
    await conn.execute(text("SET LOCAL synchronous_commit = off"))


async def _move_checkpoint(conn: AsyncConnection, last: LogPosition) -> None:
    await move_checkpoint(conn, PROJECTION, last)


async def move_checkpoint(conn: AsyncConnection, name: str, last: LogPosition) -> None:
    """Follower ``name`` has applied everything up to ``last`` (in its transaction)."""
    await conn.execute(
        update(checkpoints)
        .where(checkpoints.c.name == name)
        .values(tx_id=last.tx_id, position=last.position)
    )


class _ReadAhead:
    """Reads the batch after the one being written, while it is written (on another
    connection): the database works on one batch while Python decodes the next.

    A batch read ahead is used only if the checkpoint is still where it was read from
    (another projector may have moved it); it is then a prefix of what reading again
    would return (anything committed since sorts after it), so it is as good.
    """

    def __init__(self, store: EventStore, limit: int) -> None:
        self._store, self._limit = store, limit
        self._ahead: tuple[LogPosition, asyncio.Task[list[RecordedEvent]]] | None = None

    async def __call__(self, after: LogPosition) -> list[RecordedEvent]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == after:
            records = await ahead[1]
        else:
            await self.cancel(ahead)
            records = await _read(self._store, after, limit=self._limit)
        if len(records) == self._limit:
            self.start(records[-1].log_position)
        return records

    def start(self, after: LogPosition) -> None:
        """Read the batch after ``after`` now, for the next call to take."""
        task = asyncio.create_task(_read(self._store, after, limit=self._limit))
        self._ahead = (after, task)

    async def cancel(
        self, ahead: tuple[LogPosition, asyncio.Task[list[RecordedEvent]]] | None = None
    ) -> None:
        ahead = ahead or self._ahead
        if ahead is not None:
            ahead[1].cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ahead[1]


async def run_projector(
    engine: AsyncEngine,
    store: EventStore,
    stop_event: asyncio.Event,
    poll_interval: float = 0.2,
    *,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Keep the read tables up to date until ``stop_event`` is set (for the worker process).

    A full batch is followed at once by the next; a short one means caught up, so it
    waits ``poll_interval``. A database outage is waited out with a growing pause; any
    other error (a bug, an event type this code is too old to read) stops the loop.
    """
    backoff = poll_interval
    while not stop_event.is_set():
        try:
            applied = await project_batch(engine, store, batch_size)
        except (OperationalError, InterfaceError, OSError, StoreTimeout) as err:
            backoff = min(max(backoff * 2, poll_interval), MAX_BACKOFF_S)
            log.warning("projector: database unavailable (%s); retrying in %.1f s", err, backoff)
            await _pause(stop_event, backoff)
            continue
        backoff = poll_interval
        if applied < batch_size:
            await _pause(stop_event, poll_interval)


async def rebuild(
    engine: AsyncEngine, store: EventStore, *, batch_size: int = REBUILD_BATCH_SIZE
) -> int:
    """Empty the read tables and the checkpoint, then replay the whole log; returns events read.

    Readers see the tables fill up again meanwhile; a running projector is not disturbed
    (it waits on the checkpoint lock, then carries on from wherever the replay is).
    """
    read = _ReadAhead(store, batch_size)
    read.start(ORIGIN)  # the log does not change with the tables: read it meanwhile
    try:
        async with engine.begin() as conn:
            await _lock_checkpoint(conn)
            await conn.execute(text(f"TRUNCATE {case_list.name}, {balance_movements.name}"))
            await _move_checkpoint(conn, ORIGIN)
        return await _replay(engine, read, batch_size)
    except _CheckpointMoved:  # another projector took over part of the replay: follow it
        total = 0
        while applied := await project_batch(engine, store, batch_size):
            total += applied
        return total
    finally:
        await read.cancel()


class _CheckpointMoved(Exception):
    """The checkpoint is not where the replay's next batch starts."""


async def _replay(engine: AsyncEngine, read: _ReadAhead, batch_size: int) -> int:
    """Batch N is written and committed while batch N + 1 is folded and N + 2 is read.

    The fold of N + 1 takes the rows N changed from memory (copies: N's writer still
    holds the originals) and every other row from the database, where everything up to
    N - 1 is committed; writers run one after the other, each checking under the
    checkpoint's lock that the checkpoint is where its batch starts.
    """
    total, after = 0, ORIGIN
    carried: dict[str, CaseRow] = {}
    writing: asyncio.Task[None] | None = None
    try:
        while True:
            records = await read(after)
            if not records:
                break
            async with engine.connect() as conn:
                folded = await _fold(conn, records, carried)
            if writing is not None:
                await writing  # batch N is committed: N + 1 may go
            writing = asyncio.create_task(_write_batch(engine, after, folded))
            carried = {row.case_id: row for row in (*folded.opened, *folded.changed)}
            after, total = folded.last, total + len(records)
            if len(records) < batch_size:
                break
        if writing is not None:
            await writing
            writing = None
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writing
    return total


async def _write_batch(engine: AsyncEngine, after: LogPosition, folded: _Folded) -> None:
    async with engine.begin() as conn:
        await _commit_without_waiting_for_disk(conn)
        if await _lock_checkpoint(conn) != after:
            raise _CheckpointMoved
        await _write(conn, folded)
        await _move_checkpoint(conn, folded.last)


async def wait_for_position(
    engine: AsyncEngine,
    position: int,
    timeout: float,  # noqa: ASYNC109 - the issue's signature; running out answers False
    *,
    interval: float = 0.05,
) -> bool:
    """Wait until the read tables include event ``position`` (read-your-writes after a write).

    True once they do; False if ``timeout`` seconds pass first (or no event has it).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with engine.connect() as conn:
            if await includes(conn, position):
                return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(interval, remaining))


async def _pause(stop_event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop_event.wait(), timeout=seconds)


async def _lock_checkpoint(conn: AsyncConnection) -> LogPosition:
    """This projection's checkpoint, its row locked until the transaction ends."""
    return await lock_checkpoint(conn, PROJECTION)


async def lock_checkpoint(conn: AsyncConnection, name: str) -> LogPosition:
    """Follower ``name``'s checkpoint (ORIGIN the first time), its row locked until the
    transaction ends: a second follower of the same name waits, then resumes after it."""
    query = (
        select(checkpoints.c.tx_id, checkpoints.c.position)
        .where(checkpoints.c.name == name)
        .with_for_update()
    )
    row = (await conn.execute(query)).first()
    if row is None:
        first = insert(checkpoints).values(name=name, tx_id=ORIGIN.tx_id, position=ORIGIN.position)
        await conn.execute(first.on_conflict_do_nothing())
        row = (await conn.execute(query)).one()
    return LogPosition(row.tx_id, row.position)


@dataclass(frozen=True, slots=True)
class _Folded:
    """What a batch changes, ready to be written."""

    last: LogPosition
    """The checkpoint after the batch."""
    opened: list[CaseRow]
    """Rows new to ``case_list`` (their debtor filled from ``cases`` when it is there)."""
    changed: list[CaseRow]
    """Rows that exist already."""
    movements: list[Movement]


async def _fold(
    conn: AsyncConnection,
    records: Sequence[RecordedEvent],
    carried: Mapping[str, CaseRow] | None = None,
) -> _Folded:
    """Fold the batch into the rows of the cases it touches (``carried``: rows changed by
    a batch not committed yet, taken from memory; the others are read through ``conn``)."""
    first_version: dict[str, int] = {}
    for record in records:
        first_version.setdefault(record.stream_id, record.version)
    rows = {s: copy(carried[s]) for s in first_version if carried and s in carried}
    # A stream's earlier events come earlier in the log: one whose version 1 is in this
    # batch has no row yet (a replay is mostly those), so only the others are loaded.
    wanted = [s for s, version in first_version.items() if version > 1 and s not in rows]
    rows.update(await _load_rows(conn, wanted))
    existing = set(rows)
    touched: dict[str, CaseRow] = {}
    movements: list[Movement] = []
    with cyclic_gc_paused():
        for start in range(0, len(records), YIELD_EVERY):
            if start:
                await asyncio.sleep(0)  # the worker's other tasks, and the batch in flight
            for record in records[start : start + YIELD_EVERY]:
                row = rows.get(record.stream_id)
                movement: Movement | None
                if row is None:
                    event = record.event
                    if not isinstance(event, InvoiceRegistered):
                        continue  # a case whose invoice this projection never saw
                    row, movement = open_case(record, event)
                    rows[row.case_id] = row
                else:
                    movement = apply_event(row, record)
                if row.updated_position == record.position:
                    touched[row.case_id] = row
                if movement is not None:
                    movements.append(movement)
    opened = [row for case_id, row in touched.items() if case_id not in existing]
    changed = [row for case_id, row in touched.items() if case_id in existing]
    if opened:  # the debtor comes from `cases` at once when its row is there
        found = await conn.execute(_DEBTORS, {"case_ids": [row.case_id for row in opened]})
        debtors = {(case_id, tenant): rest for case_id, tenant, *rest in found}
        for row in opened:
            if (row.case_id, row.tenant) in debtors:
                row.debtor_name, row.debtor_siren, row.debtor_id = debtors[row.case_id, row.tenant]
    return _Folded(records[-1].log_position, opened, changed, movements)


async def _load_rows(conn: AsyncConnection, case_ids: list[str]) -> dict[str, CaseRow]:
    if not case_ids:
        return {}
    wanted = bindparam("case_ids", case_ids, type_=ARRAY(String))
    query = select(case_list).where(case_list.c.case_id == any_(wanted))
    return {row.case_id: CaseRow(**row._mapping) for row in await conn.execute(query)}


def _array_type(column_type: object) -> str:
    for kind, name in ((BigInteger, "bigint"), (Integer, "int"), (Numeric, "numeric")):
        if isinstance(column_type, kind):
            return name
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, String):
        return "text"
    raise TypeError(f"no array type for {column_type!r}")


def _unnest(table: Table) -> str:
    """``SELECT * FROM unnest(:c1, :c2...) AS b(c1, c2...)``: a whole batch as one parameter
    per column (asyncpg sends arrays in binary; the server turns them back into rows)."""
    names = [c.name for c in table.c]
    arrays = ", ".join(f"CAST(:{c.name} AS {_array_type(c.type)}[])" for c in table.c)
    return f"SELECT * FROM unnest({arrays}) AS b({', '.join(names)})"


_CASE_COLUMNS = [c.name for c in case_list.c]
_UPDATE_CASES = text(
    f"INSERT INTO {case_list.name} ({', '.join(_CASE_COLUMNS)}) {_unnest(case_list)}"
    " ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in _CASE_COLUMNS if n != "case_id")
)
_DEBTORS = text(
    "SELECT case_id, tenant, invoice->'debtor'->>'name', invoice->'debtor'->>'siren',"
    " invoice->'debtor'->>'debtor_id'"
    f" FROM {cases.name} WHERE case_id = ANY(CAST(:case_ids AS text[]))"
)


async def _write(conn: AsyncConnection, folded: _Folded) -> None:
    """New rows and ledger entries by COPY (the ledger only grows), changed rows in one
    upsert; then the debtors still missing."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    days = _Days()
    if folded.opened:
        await _copy(driver, case_list.name, _CASE_COPY, folded.opened, days)
    if folded.changed:
        columns = {n: [getattr(row, n) for row in folded.changed] for n in _CASE_COLUMNS}
        await conn.execute(_UPDATE_CASES, columns)
    if folded.opened or folded.changed:
        await _fill_debtors(conn)
    if folded.movements:
        await _copy(driver, balance_movements.name, _MOVEMENT_COPY, folded.movements, days)


class _Days(dict[date, str]):
    """The text of each date, formatted once per batch (a batch has few distinct days)."""

    def __missing__(self, day: date) -> str:
        text = self[day] = day.isoformat()
        return text


_NULL = "\\N"


def _movements_text(movements: Sequence[Movement], days: _Days) -> str:
    return "".join(
        [
            f"{m.position}\t{m.tenant}\t{m.case_id}\t{days[m.on_date]}\t{m.kind}\t{m.amount!s}\n"
            for m in movements
        ]
    )


def _cases_text(rows: Sequence[CaseRow], days: _Days) -> str:
    return "".join(
        [
            f"{r.case_id}\t{r.tenant}\t{r.invoice_number}\t{r.currency}"
            f"\t{days[r.issue_date]}\t{days[r.due_date]}\t{r.amount_due!s}\t{r.balance!s}"
            f"\t{r.open_balance!s}\t{r.paid!s}\t{r.credited!s}\t{r.stage}"
            f"\t{r.registered_position}\t{r.updated_position}"
            f"\t{_NULL if r.outcome is None else r.outcome}"
            f"\t{_NULL if r.closed_on is None else days[r.closed_on]}"
            f"\t{_NULL if r.last_action is None else r.last_action}"
            f"\t{_NULL if r.last_action_on is None else days[r.last_action_on]}"
            f"\t{_NULL if r.next_action_on is None else days[r.next_action_on]}"
            f"\t{_NULL if r.debtor_name is None else r.debtor_name}"
            f"\t{_NULL if r.debtor_siren is None else r.debtor_siren}"
            f"\t{_NULL if r.debtor_id is None else r.debtor_id}\n"
            for r in rows
        ]
    )


@dataclass(frozen=True)
class _CopyShape:
    """How rows of one kind go into COPY: as text (``text``: one line per row, the values
    of ``columns`` in order, None as NULL), in binary when that would be misread."""

    columns: tuple[str, ...]
    text: Callable[[Any, _Days], str]
    cls: type
    """The rows' class (its annotations say which fields may be None)."""

    @cached_property
    def record(self) -> Callable[[Any], tuple[Any, ...]]:
        return attrgetter(*self.columns)

    @cached_property
    def nullable(self) -> tuple[Callable[[Any], Any], ...]:
        """Getters of the fields that may be None."""
        hints = get_type_hints(self.cls)
        return tuple(attrgetter(n) for n, kind in hints.items() if type(None) in get_args(kind))

    def nulls(self, rows: Sequence[Any]) -> int:
        """How many of the rows' values are None."""
        return sum(list(map(field, rows)).count(None) for field in self.nullable)


_CASE_COLUMNS_IN_TEXT = (
    "case_id", "tenant", "invoice_number", "currency", "issue_date", "due_date",
    "amount_due", "balance", "open_balance", "paid", "credited", "stage",
    "registered_position", "updated_position", "outcome", "closed_on", "last_action",
    "last_action_on", "next_action_on", "debtor_name", "debtor_siren", "debtor_id",
)  # fmt: skip
"""The columns of ``_cases_text``, in its order."""
_CASE_COPY = _CopyShape(_CASE_COLUMNS_IN_TEXT, _cases_text, CaseRow)
_MOVEMENT_COPY = _CopyShape(Movement._fields, _movements_text, Movement)


async def _copy(
    driver: Any, table: str, shape: _CopyShape, rows: Sequence[Any], days: _Days
) -> None:
    """COPY ``rows`` into ``table`` in text, or in binary when a string value holds what
    the text format would read as an escape or a separator (ids and codes never do, a
    debtor's name may: binary takes anything).

    The text is checked whole: exactly one tab between columns and one newline per row,
    no carriage return, and no backslash but those of the NULLs. Text costs a fraction
    of binary to produce: asyncpg encodes each Decimal through its digit tuple, five per
    case row, one per ledger entry.
    """
    text = shape.text(rows, days)
    if (
        text.count("\t") == (len(shape.columns) - 1) * len(rows)
        and text.count("\n") == len(rows)
        and "\r" not in text
        and text.count("\\") == shape.nulls(rows)
    ):
        # A memoryview: bytes would be taken for a file name.
        data = memoryview(text.encode())
        await driver.copy_to_table(table, source=data, columns=shape.columns, format="text")
    else:
        record = shape.record
        await driver.copy_records_to_table(
            table, records=[record(row) for row in rows], columns=shape.columns
        )


async def _fill_debtors(conn: AsyncConnection) -> None:
    """Copy the debtor (its id; for cases opened before the debtor accounts, its name and
    SIREN) from ``cases`` into rows that lack it.

    Not only this batch's rows: the invoice's event can be committed a moment before
    its ``cases`` row, and that case may see no other event for weeks.
    """
    debtor = cases.c.invoice["debtor"]
    await conn.execute(
        update(case_list)
        .where(
            and_(
                case_list.c.debtor_name.is_(None),
                case_list.c.debtor_id.is_(None),
                cases.c.case_id == case_list.c.case_id,
                cases.c.tenant == case_list.c.tenant,
            )
        )
        .values(
            debtor_name=debtor["name"].astext,
            debtor_siren=debtor["siren"].astext,
            debtor_id=debtor["debtor_id"].astext,
        )
    )
