"""The projector: follows the event store's global order and keeps the read tables.

Each batch is one transaction that (1) locks this projection's checkpoint row, (2) reads
the events after it, (3) writes the rows they change and (4) moves the checkpoint to the
last of them. A crash anywhere before the commit leaves rows and checkpoint as they were,
so the batch is applied again in full, once; a second projector (another process) waits
on the lock and then starts where the first one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict

from sqlalchemy import and_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.events import InvoiceRegistered
from eventstore.records import RecordedEvent
from eventstore.store import EventStore
from projections.case_rows import CaseRow, Movement, apply_event, open_case
from projections.tables import balance_movements, case_list, checkpoints
from services.db.tables import cases

log = logging.getLogger("recouvre.projections")

PROJECTION = "case_reports"
"""The checkpoint name of the case list and the receivables ledger."""
BATCH_SIZE = 500
MAX_BACKOFF_S = 5.0

BatchHook = Callable[[AsyncConnection], Awaitable[None]]


async def current_position(conn: AsyncConnection) -> int:
    """The last event position the read tables include (0 before the first batch)."""
    query = select(checkpoints.c.position).where(checkpoints.c.name == PROJECTION)
    position: int | None = (await conn.execute(query)).scalar_one_or_none()
    return position or 0


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
    async with engine.begin() as conn:
        position = await _lock_checkpoint(conn)
        records = await store.read_all(after_position=position, limit=limit)
        if not records:
            return 0
        await _apply(conn, records)
        if before_commit is not None:
            await before_commit(conn)
        await conn.execute(
            update(checkpoints)
            .where(checkpoints.c.name == PROJECTION)
            .values(position=records[-1].position)
        )
    return len(records)


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
        except (OperationalError, InterfaceError, OSError) as err:
            backoff = min(max(backoff * 2, poll_interval), MAX_BACKOFF_S)
            log.warning("projector: database unavailable (%s); retrying in %.1f s", err, backoff)
            await _pause(stop_event, backoff)
            continue
        backoff = poll_interval
        if applied < batch_size:
            await _pause(stop_event, poll_interval)


async def rebuild(engine: AsyncEngine, store: EventStore, *, batch_size: int = BATCH_SIZE) -> int:
    """Empty the read tables and the checkpoint, then replay the whole log; returns events read.

    Readers see the tables fill up again meanwhile; a running projector is not disturbed
    (it waits on the checkpoint lock, then carries on from wherever the replay is).
    """
    async with engine.begin() as conn:
        await _lock_checkpoint(conn)
        await conn.execute(text(f"TRUNCATE {case_list.name}, {balance_movements.name}"))
        await conn.execute(
            update(checkpoints).where(checkpoints.c.name == PROJECTION).values(position=0)
        )
    total = 0
    while True:
        applied = await project_batch(engine, store, batch_size)
        total += applied
        if applied < batch_size:
            return total


async def wait_for_position(
    engine: AsyncEngine,
    position: int,
    timeout: float,  # noqa: ASYNC109 - the issue's signature; running out answers False
    *,
    interval: float = 0.05,
) -> bool:
    """Wait until the read tables include event ``position`` (read-your-writes after a write).

    True once they do; False if ``timeout`` seconds pass first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with engine.connect() as conn:
            if await current_position(conn) >= position:
                return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(interval, remaining))


async def _pause(stop_event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop_event.wait(), timeout=seconds)


async def _lock_checkpoint(conn: AsyncConnection) -> int:
    """This projection's position, its row locked until the transaction ends."""
    query = select(checkpoints.c.position).where(checkpoints.c.name == PROJECTION).with_for_update()
    position: int | None = (await conn.execute(query)).scalar_one_or_none()
    if position is None:
        first = insert(checkpoints).values(name=PROJECTION, position=0)
        await conn.execute(first.on_conflict_do_nothing())
        position = (await conn.execute(query)).scalar_one()
    return position


async def _apply(conn: AsyncConnection, records: Sequence[RecordedEvent]) -> None:
    """Fold the batch into the rows of the cases it touches, then write them in bulk."""
    rows = await _load_rows(conn, {record.stream_id for record in records})
    touched: dict[str, CaseRow] = {}
    movements: list[Movement] = []
    for record in records:
        row = rows.get(record.stream_id)
        movement: Movement | None
        if row is None:
            if not isinstance(record.event, InvoiceRegistered):
                continue  # a case whose invoice this projection never saw
            row, movement = open_case(record, record.event)
            rows[row.case_id] = row
        else:
            movement = apply_event(row, record)
        if row.updated_position == record.position:
            touched[row.case_id] = row
        if movement is not None:
            movements.append(movement)
    await _write(conn, touched.values(), movements)


async def _load_rows(conn: AsyncConnection, case_ids: set[str]) -> dict[str, CaseRow]:
    query = select(case_list).where(case_list.c.case_id.in_(case_ids))
    return {row.case_id: CaseRow(**row._mapping) for row in await conn.execute(query)}


async def _write(
    conn: AsyncConnection, rows: Iterable[CaseRow], movements: Sequence[Movement]
) -> None:
    values = [asdict(row) for row in rows]
    if values:
        upsert = insert(case_list)
        changed = {c.name: upsert.excluded[c.name] for c in case_list.c if c.name != "case_id"}
        await conn.execute(
            upsert.on_conflict_do_update(index_elements=[case_list.c.case_id], set_=changed),
            values,
        )
        await _fill_debtors(conn)
    if movements:
        await conn.execute(insert(balance_movements), [asdict(m) for m in movements])


async def _fill_debtors(conn: AsyncConnection) -> None:
    """Copy the debtor's name and SIREN from ``cases`` into rows that lack them.

    Not only this batch's rows: the invoice's event can be committed a moment before
    its ``cases`` row, and that case may see no other event for weeks.
    """
    debtor = cases.c.invoice["debtor"]
    await conn.execute(
        update(case_list)
        .where(
            and_(
                case_list.c.debtor_name.is_(None),
                cases.c.case_id == case_list.c.case_id,
                cases.c.tenant == case_list.c.tenant,
            )
        )
        .values(debtor_name=debtor["name"].astext, debtor_siren=debtor["siren"].astext)
    )
