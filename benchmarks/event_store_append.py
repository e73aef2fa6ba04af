"""Append throughput of the event store beside plain INSERTs of the same rows, same run.

    .venv/bin/python benchmarks/event_store_append.py [--streams N] [--events M] [--batch B]

Starts its own embedded PostgreSQL (deleted afterwards), or uses DATABASE_URL (the events
it appends stay there for good, the log being append-only: point it at a scratch
database). Four appenders run at once, each on its own streams, each append carrying B
events (default 1, as the workflow's activity mostly does) in its own transaction. The
baseline is the same four writers inserting the very rows the store wrote, B per
transaction, into a regular table with the same columns and indexes (as durable as
``events``), with no hashing, no checks, no trigger, through the same engine and the
same pattern (a pooled connection per transaction). Rounds alternate store and baseline
(the host is shared and noisy); the figure is the median of the rounds' ratios, printed
beside both rates. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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
from schemas.invoice import DebtorKind
from services.embedded.postgres import start_embedded_postgres
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from storage.tables import events

T = TypeVar("T")
APPENDERS = 4
ROUNDS = 9
GOAL = 0.8
META = EventMetadata(tenant="benchmark", actor="system")
Workload = list[tuple[str, list[list[NewEvent]]]]
"""Per stream: its batches, in order."""


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


def _workload(streams: int, per_stream: int, batch: int) -> Workload:
    work = []
    for _ in range(streams):
        stream_id = str(uuid.uuid4())
        envelopes = [
            NewEvent.of(_fact(n), event_id=event_id_for(stream_id, f"step/{n}"), metadata=META)
            for n in range(per_stream)
        ]
        work.append((stream_id, [envelopes[i : i + batch] for i in range(0, per_stream, batch)]))
    return work


async def _timed(
    work: Sequence[T], writers: int, run: Callable[[Sequence[T]], Awaitable[None]]
) -> float:
    """Seconds to run ``work`` split (round robin) across ``writers`` concurrent tasks."""
    shares = [work[i::writers] for i in range(writers)]
    start = time.perf_counter()
    await asyncio.gather(*(run(share) for share in shares))
    return time.perf_counter() - start


async def _append_all(store: EventStore, work: Workload) -> None:
    for stream_id, batches in work:
        version = 0
        for batch in batches:
            await store.append(stream_id, batch, expected_version=version)
            version += len(batch)


async def _stored_rows(engine: AsyncEngine, work: Workload) -> list[list[dict[str, Any]]]:
    """The rows the store wrote, grouped as they were appended (one group per transaction)."""
    columns = [c for c in events.c if c.name != "tx_id"]
    query = (
        select(*columns)
        .where(events.c.stream_id.in_([s for s, _ in work]))
        .order_by(events.c.stream_id, events.c.version)
    )
    async with engine.connect() as conn:
        by_stream: dict[str, list[dict[str, Any]]] = {}
        for row in await conn.execute(query):
            by_stream.setdefault(row.stream_id, []).append(dict(row._mapping))
    groups = []
    for stream_id, batches in work:
        stored = iter(by_stream[stream_id])
        groups.extend([next(stored) for _ in batch] for batch in batches)
    return groups


async def _insert_plain(
    engine: AsyncEngine, table: Table, groups: Sequence[list[dict[str, Any]]]
) -> None:
    for rows in groups:  # as each append does: a pooled connection, one transaction
        async with engine.begin() as conn:
            await conn.execute(insert(table), rows)


async def _measure(
    url: str, streams: int, per_stream: int, batch: int
) -> list[tuple[float, float]]:
    """(store events/s, plain rows/s) per round."""
    await upgrade_to_head(url)
    engine = make_engine(url)
    store = EventStore(engine)
    plain = events.to_metadata(MetaData(), name=f"bench_plain_{uuid.uuid4().hex[:8]}")
    total = streams * per_stream
    rounds = []
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {plain.name} (LIKE events INCLUDING ALL)"))
        warm = _workload(APPENDERS * 2, 3, batch)  # the pool, statement caches, plans
        await _timed(warm, APPENDERS, partial(_append_all, store))
        await _timed(
            await _stored_rows(engine, warm), APPENDERS, partial(_insert_plain, engine, plain)
        )
        # Round k times the store on new streams and the baseline on the rows the store
        # wrote in round k - 1, in alternating order, so that neither always runs first.
        previous = _workload(streams, per_stream, batch)
        await _timed(previous, APPENDERS, partial(_append_all, store))
        for k in range(ROUNDS):
            work = _workload(streams, per_stream, batch)
            groups = await _stored_rows(engine, previous)  # the baseline inserts these rows
            append = partial(_timed, work, APPENDERS, partial(_append_all, store))
            insert_ = partial(_timed, groups, APPENDERS, partial(_insert_plain, engine, plain))
            if k % 2:
                plain_seconds, seconds = await insert_(), await append()
            else:
                seconds, plain_seconds = await append(), await insert_()
            rounds.append((total / seconds, total / plain_seconds))
            previous = work
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {plain.name}"))
        await engine.dispose()
    return rounds


def _report(rounds: list[tuple[float, float]], args: argparse.Namespace, seconds: float) -> None:
    total = args.streams * args.events
    ratios = [store / plain for store, plain in rounds]
    ratio = statistics.median(ratios)
    print(
        f"{args.streams} streams x {args.events} events = {total} events per round,"
        f" {args.batch} per append, {APPENDERS} concurrent appenders, {ROUNDS} rounds"
    )
    print(f"{'round':>6}{'store (events/s)':>20}{'plain INSERT (rows/s)':>24}{'ratio':>8}")
    for n, (store, plain) in enumerate(rounds, 1):
        print(f"{n:>6}{store:>20.0f}{plain:>24.0f}{store / plain:>8.2f}")
    store_rate = statistics.median(r[0] for r in rounds)
    plain_rate = statistics.median(r[1] for r in rounds)
    print(
        f"append, {APPENDERS} appenders: {store_rate:.0f} events/s vs plain INSERT into a regular"
        f" table, {APPENDERS} writers: {plain_rate:.0f} rows/s = {ratio:.2f} x"
        f" (median of rounds; goal >= {GOAL} x: {'met' if ratio >= GOAL else 'NOT met'})"
    )
    print(f"total wall time {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=40, help="streams per round")
    parser.add_argument("--events", type=int, default=20, help="events per stream")
    parser.add_argument("--batch", type=int, default=1, help="events per append")
    args = parser.parse_args()
    started = time.perf_counter()
    url, handle = os.environ.get("DATABASE_URL"), None
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="recouvre-bench-pg-"))
        url, handle = start_embedded_postgres(folder / "data", keep=False)
    try:
        rounds = asyncio.run(_measure(url, args.streams, args.events, args.batch))
    finally:
        if handle is not None:
            handle.cleanup()
    _report(rounds, args, time.perf_counter() - started)


if __name__ == "__main__":
    main()
