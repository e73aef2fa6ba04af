"""Rebuild rate of the case projections, against a plain scan of the events table.

    .venv/bin/python benchmarks/projection_rebuild.py [--cases N] [--payments M] [--batch B]

Starts its own embedded PostgreSQL (deleted afterwards), migrates it, registers N
invoices (a `cases` row and an InvoiceRegistered each) with M partial payments apiece
(defaults: 1000 x (1 + 4) = 5000 events), then times ``projections.projector.rebuild``
(empty the read tables, replay the whole log in batches of B). Baselines in the same
run, same batch size: a plain ``SELECT * FROM events`` scan by position (no decoding, no
writes), and ``EventStore.read_all`` (rows decoded into typed events, no writes). Each
figure is the best of a few runs. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import DomainEvent, InvoiceRegistered, PaymentRecorded
from eventstore.records import EventMetadata, NewEvent
from eventstore.store import EventStore
from eventstore.tables import events
from projections.projector import rebuild
from projections.tables import case_list
from schemas.invoice import DebtorKind, InvoiceIn
from services.api.case_ids import case_id_for, workflow_id_for
from services.db.engine import make_engine
from services.db.migrate import upgrade_to_head
from services.db.tables import cases
from services.embedded.postgres import start_embedded_postgres

TENANT = "benchmark"
APPENDERS = 4
RUNS = 3
META = EventMetadata(tenant=TENANT, actor="system")


def _invoice(n: int) -> InvoiceIn:
    issued = date(2026, 1, 1) + timedelta(days=n % 180)
    return InvoiceIn.model_validate(
        {
            "invoice_number": f"B-{n:05d}",
            "issue_date": issued.isoformat(),
            "due_date": (issued + timedelta(days=30)).isoformat(),
            "currency": "EUR",
            "amount_due": "1000.00",
            "debtor": {
                "kind": "business",
                "name": f"Débiteur {n % 97} SARL",
                "siren": "732829320",
                "email": "compta@debiteur.example",
                "address": {"line1": "1 rue du Port", "postal_code": "13002", "city": "Marseille"},
            },
        }
    )


def _facts(invoice: InvoiceIn, payments: int) -> list[DomainEvent]:
    facts: list[DomainEvent] = [
        InvoiceRegistered(
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            currency="EUR",
            amount_due=invoice.amount_due,
            debtor_kind=DebtorKind.business,
            policy_id="fr-b2b-standard",
            policy_version=1,
        )
    ]
    for k in range(1, payments + 1):
        facts.append(
            PaymentRecorded(
                amount=Decimal("100.00"),
                paid_on=invoice.due_date + timedelta(days=10 * k),
                reference=f"VIR-{invoice.invoice_number}-{k}",
                balance_after=invoice.amount_due - 100 * k,
            )
        )
    return facts


async def _load(engine: AsyncEngine, store: EventStore, count: int, payments: int) -> None:
    invoices = [_invoice(n) for n in range(count)]
    ids = [case_id_for(TENANT, i.invoice_number) for i in invoices]
    async with engine.begin() as conn:
        await conn.execute(
            insert(cases),
            [
                {
                    "case_id": case_id,
                    "tenant": TENANT,
                    "invoice_number": i.invoice_number,
                    "workflow_id": workflow_id_for(TENANT, i.invoice_number),
                    "content_hash": i.content_hash(),
                    "policy_id": "fr-b2b-standard",
                    "policy_version": 1,
                    "invoice": i.model_dump(mode="json"),
                }
                for case_id, i in zip(ids, invoices, strict=True)
            ],
        )

    async def append_share(share: int) -> None:
        for case_id, invoice in list(zip(ids, invoices, strict=True))[share::APPENDERS]:
            batch = [
                NewEvent.of(fact, event_id=uuid.uuid4(), metadata=META)
                for fact in _facts(invoice, payments)
            ]
            await store.append(case_id, batch, expected_version=0)

    await asyncio.gather(*(append_share(s) for s in range(APPENDERS)))


async def _scan_rows(engine: AsyncEngine, batch: int) -> int:
    seen, after = 0, 0
    async with engine.connect() as conn:
        while True:
            query = (
                select(events).where(events.c.position > after).order_by(events.c.position)
            ).limit(batch)
            rows = (await conn.execute(query)).all()
            if not rows:
                return seen
            seen, after = seen + len(rows), rows[-1].position


async def _scan_store(store: EventStore, batch: int) -> int:
    seen, after = 0, 0
    while records := await store.read_all(after_position=after, limit=batch):
        seen, after = seen + len(records), records[-1].position
    return seen


async def _best_rate(run: Callable[[], Awaitable[int]]) -> float:
    best = 0.0
    for _ in range(RUNS):
        started = time.perf_counter()
        count = await run()
        best = max(best, count / (time.perf_counter() - started))
    return best


async def _measure(url: str, count: int, payments: int, batch: int) -> dict[str, float]:
    await upgrade_to_head(url)
    engine = make_engine(url)
    store = EventStore(engine)
    try:
        started = time.perf_counter()
        await _load(engine, store, count, payments)
        print(f"appended {count * (1 + payments)} events in {time.perf_counter() - started:.1f} s")
        rates = {
            "raw": await _best_rate(lambda: _scan_rows(engine, batch)),
            "store": await _best_rate(lambda: _scan_store(store, batch)),
            "rebuild": await _best_rate(lambda: rebuild(engine, store, batch_size=batch)),
        }
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.sum(case_list.c.balance)))).scalar_one()
        expected = count * (Decimal("1000.00") - 100 * payments)
        assert total == expected, f"projected balances {total}, expected {expected}"
    finally:
        await engine.dispose()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=4, help="payments per case")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="recouvre-bench-pg-"))
    url, handle = start_embedded_postgres(folder / "data", keep=False)
    try:
        rates = asyncio.run(_measure(url, args.cases, args.payments, args.batch))
    finally:
        handle.cleanup()
    total = args.cases * (1 + args.payments)
    print(f"{total} events, batches of {args.batch}, best of {RUNS} runs")
    print(f"{'plain SELECT scan of events (rows/s)':44}{rates['raw']:>10.0f}")
    print(f"{'EventStore.read_all scan (events/s)':44}{rates['store']:>10.0f}")
    print(f"{'projection rebuild (events/s)':44}{rates['rebuild']:>10.0f}")
    print(f"{'rebuild / plain scan':44}{rates['rebuild'] / rates['raw']:>10.3f}")
    print(f"{'rebuild / read_all scan':44}{rates['rebuild'] / rates['store']:>10.3f}")
    print(f"total wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
