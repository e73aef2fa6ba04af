"""Append throughput of the event store, against plain INSERTs of the same rows.

    .venv/bin/python benchmarks/event_store_append.py [--streams N] [--events M]

Starts its own embedded PostgreSQL, or uses DATABASE_URL (the events it appends stay
there for good, the log being append-only: point it at a scratch database). Each append
carries one event in its own transaction, as a workflow activity does. The baseline
inserts the very rows the store wrote, one per transaction too, with no hashing, no
counter, no checks: into a TEMP table (not WAL-logged, so its commits are cheap) and into
a regular table with the same indexes (as durable as ``events``). Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import (
    DomainEvent,
    InvoiceRegistered,
    PaymentRecorded,
    ReminderChannel,
    ReminderSent,
)
from eventstore.ids import event_id_for
from eventstore.records import EventMetadata, NewEvent
from eventstore.store import EventStore
from eventstore.tables import events
from schemas.invoice import DebtorKind
from services.db.engine import make_engine
from services.db.migrate import upgrade_to_head
from services.embedded.postgres import start_embedded_postgres

T = TypeVar("T")
APPENDERS = 4
META = EventMetadata(tenant="benchmark", actor="system")
Workload = list[tuple[str, list[NewEvent]]]


def _fact(n: int) -> DomainEvent:
    if n == 0:
        return InvoiceRegistered(
            invoice_number="B-1",
            issue_date=date(2026, 10, 1),
            due_date=date(2026, 10, 31),
            currency="EUR",
            amount_due=Decimal("1200.00"),
            debtor_kind=DebtorKind.business,
            policy_id="fr-b2b-standard",
            policy_version=1,
        )
    if n % 2:
        sent_at = datetime(2026, 11, 1, 8, tzinfo=UTC)
        return ReminderSent(
            step=f"r{n}", template="r@1", channel=ReminderChannel.email, sent_at=sent_at
        )
    return PaymentRecorded(
        amount=Decimal("1.00"),
        paid_on=date(2026, 11, 2),
        reference=f"P{n}",
        balance_after=Decimal(1200 - n),
    )


def _workload(streams: int, per_stream: int) -> Workload:
    work = []
    for _ in range(streams):
        stream_id = str(uuid.uuid4())
        batch = [
            NewEvent.of(_fact(n), event_id=event_id_for(stream_id, f"step/{n}"), metadata=META)
            for n in range(per_stream)
        ]
        work.append((stream_id, batch))
    return work


async def _timed(
    work: Sequence[T], appenders: int, run: Callable[[Sequence[T]], Awaitable[None]]
) -> float:
    """Seconds to run ``work`` split (round robin) across ``appenders`` concurrent tasks."""
    shares = [work[i::appenders] for i in range(appenders)]
    start = time.perf_counter()
    await asyncio.gather(*(run(share) for share in shares))
    return time.perf_counter() - start


async def _append_all(store: EventStore, work: Sequence[tuple[str, list[NewEvent]]]) -> None:
    for stream_id, batch in work:
        for version, event in enumerate(batch):
            await store.append(stream_id, [event], expected_version=version)


async def _stored_rows(engine: AsyncEngine, work: Workload) -> list[dict[str, Any]]:
    query = (
        select(events)
        .where(events.c.stream_id.in_([s for s, _ in work]))
        .order_by(events.c.position)
    )
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def _insert_plain(
    engine: AsyncEngine, table: Table, rows: Sequence[dict[str, Any]], temp: bool
) -> None:
    async with engine.connect() as conn:
        if temp:
            await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table.name}"))
            await conn.execute(text(f"CREATE TEMP TABLE {table.name} (LIKE events INCLUDING ALL)"))
            await conn.commit()
        for row in rows:
            await conn.execute(insert(table), row)
            await conn.commit()
        if temp:
            await conn.execute(text(f"DROP TABLE {table.name}"))
            await conn.commit()


async def _measure(url: str, streams: int, per_stream: int) -> dict[str, dict[int, float]]:
    await upgrade_to_head(url)
    engine = make_engine(url)
    store = EventStore(engine)
    rates: dict[str, dict[int, float]] = {"store": {}, "temp": {}, "regular": {}}
    total = streams * per_stream
    regular = events.to_metadata(MetaData(), name=f"bench_events_{uuid.uuid4().hex[:8]}")
    temp = events.to_metadata(MetaData(), name="bench_events_temp")
    try:
        await _append_all(store, _workload(APPENDERS, 3))  # warm the pool and statement caches
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {regular.name} (LIKE events INCLUDING ALL)"))
        for appenders in (1, APPENDERS):
            work = _workload(streams, per_stream)
            seconds = await _timed(work, appenders, partial(_append_all, store))
            rates["store"][appenders] = total / seconds
            rows = await _stored_rows(engine, work)
            for name, table in (("temp", temp), ("regular", regular)):
                insert_share = partial(_insert_plain, engine, table, temp=name == "temp")
                seconds = await _timed(rows, appenders, insert_share)
                rates[name][appenders] = total / seconds
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {regular.name}"))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {regular.name}"))
        await engine.dispose()
    return rates


def _report(
    rates: dict[str, dict[int, float]], streams: int, per_stream: int, seconds: float
) -> None:
    total = streams * per_stream
    print(f"{streams} streams x {per_stream} events = {total} events per run, one per append")
    print(f"{'':38}{'1 appender':>14}{f'{APPENDERS} appenders':>16}")
    labels = {
        "store": "event store append (events/s)",
        "temp": "plain INSERT, TEMP table (rows/s)",
        "regular": "plain INSERT, regular table (rows/s)",
    }
    for key, label in labels.items():
        print(f"{label:38}{rates[key][1]:>14.0f}{rates[key][APPENDERS]:>16.0f}")
    for key in ("temp", "regular"):
        ratio = [rates["store"][n] / rates[key][n] for n in (1, APPENDERS)]
        print(f"{'store / ' + key + ' baseline':38}{ratio[0]:>14.2f}{ratio[1]:>16.2f}")
    print(f"total wall time {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=40)
    parser.add_argument("--events", type=int, default=25, help="events per stream")
    args = parser.parse_args()
    started = time.perf_counter()
    url, handle = os.environ.get("DATABASE_URL"), None
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="recouvre-bench-pg-"))
        url, handle = start_embedded_postgres(folder / "data", keep=False)
    try:
        rates = asyncio.run(_measure(url, args.streams, args.events))
    finally:
        if handle is not None:
            handle.cleanup()
    _report(rates, args.streams, args.events, time.perf_counter() - started)


if __name__ == "__main__":
    main()
