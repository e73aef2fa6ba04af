"""Rebuild rate of the case projections beside a plain scan of the events table, same run.

    .venv/bin/python benchmarks/projection_rebuild.py [--cases N] [--payments M] [--batch B]

Starts its own embedded PostgreSQL (deleted afterwards), migrates it, registers N
invoices (a `cases` row and an InvoiceRegistered each) with M partial payments apiece
(defaults: 2000 x (1 + 4) = 10000 events), then times ``projections.projector.rebuild``
(empty the read tables, replay the whole log in batches of B: read by (tx_id, position),
decode, fold, write the rows and the checkpoint, one transaction per batch). The
baseline, in the same run and with the same batch size: a plain ``SELECT * FROM events``
scan by position through the same engine (rows decoded by the driver, nothing typed,
nothing written). ``EventStore.read_all`` (rows typed and validated, nothing written) is
printed too. Rounds alternate the three (each run starts from a collected heap); the
figure is the median of the rounds' ratios, the best runs are printed beside it. Not
part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
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
from eventstore.records import ORIGIN, EventMetadata, NewEvent
from eventstore.store import EventStore
from projections.projector import REBUILD_BATCH_SIZE, rebuild
from schemas.invoice import DebtorKind, InvoiceIn
from services.api.case_ids import case_id_for, workflow_id_for
from services.embedded.postgres import start_embedded_postgres
from storage.engine import make_engine
from storage.migrate import upgrade_to_head
from storage.tables import case_list, cases, events

TENANT = "benchmark"
APPENDERS = 4
ROUNDS = 9
GOAL = 0.5
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
    seen, after = 0, ORIGIN
    while records := await store.read_all(after_position=after, limit=batch):
        seen, after = seen + len(records), records[-1].log_position
    return seen


async def _rate(run: Callable[[], Awaitable[int]]) -> float:
    gc.collect()  # every run starts from the same collector state (it stays on meanwhile)
    started = time.perf_counter()
    count = await run()
    return count / (time.perf_counter() - started)


async def _measure(url: str, count: int, payments: int, batch: int) -> dict[str, list[float]]:
    await upgrade_to_head(url)
    engine = make_engine(url)
    store = EventStore(engine)
    try:
        started = time.perf_counter()
        await _load(engine, store, count, payments)
        print(f"appended {count * (1 + payments)} events in {time.perf_counter() - started:.1f} s")
        runs: dict[str, Callable[[], Awaitable[int]]] = {
            "raw": lambda: _scan_rows(engine, batch),
            "store": lambda: _scan_store(store, batch),
            "rebuild": lambda: rebuild(engine, store, batch_size=batch),
        }
        for run in runs.values():  # warm: pool, statement caches, plans, buffers
            await run()
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for n in range(ROUNDS):
            order = list(runs) if n % 2 == 0 else list(reversed(runs))
            for name in order:
                rates[name].append(await _rate(runs[name]))
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.sum(case_list.c.balance)))).scalar_one()
        expected = count * (Decimal("1000.00") - 100 * payments)
        assert total == expected, f"projected balances {total}, expected {expected}"
    finally:
        await engine.dispose()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--payments", type=int, default=4, help="payments per case")
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH_SIZE)
    args = parser.parse_args()
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="recouvre-bench-pg-"))
    url, handle = start_embedded_postgres(folder / "data", keep=False)
    try:
        rates = asyncio.run(_measure(url, args.cases, args.payments, args.batch))
    finally:
        handle.cleanup()
    total = args.cases * (1 + args.payments)
    ratios = [r / s for r, s in zip(rates["rebuild"], rates["raw"], strict=True)]
    median = {name: statistics.median(values) for name, values in rates.items()}
    ratio = statistics.median(ratios)
    print(f"{total} events, batches of {args.batch}, {ROUNDS} rounds")
    print(f"{'round':>6}{'plain scan':>12}{'read_all':>12}{'rebuild':>12}{'ratio':>8}")
    for n, ratio_n in enumerate(ratios):
        figures = "".join(f"{rates[name][n]:>12.0f}" for name in ("raw", "store", "rebuild"))
        print(f"{n + 1:>6}{figures}{ratio_n:>8.2f}")
    best = {name: max(values) for name, values in rates.items()}
    print(f"{'best':>6}" + "".join(f"{best[n]:>12.0f}" for n in ("raw", "store", "rebuild")))
    print(f"{'median':>6}" + "".join(f"{median[n]:>12.0f}" for n in ("raw", "store", "rebuild")))
    print(f"rebuild / read_all scan: {median['rebuild'] / median['store']:.2f} x (medians)")
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(
        f"projection rebuild vs plain SELECT scan of events: {ratio:.2f} x, median of the"
        f" rounds' ratios ({median['rebuild']:.0f} events/s vs {median['raw']:.0f} rows/s);"
        f" best of rounds {best['rebuild'] / best['raw']:.2f} x ({best['rebuild']:.0f} vs"
        f" {best['raw']:.0f}); goal >= {GOAL} x: {verdict}"
    )
    print(f"total wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
