"""One tenant's books for projection tests: real `cases` rows, real events, real projector."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.events import (
    CaseClosed,
    CloseReason,
    DomainEvent,
    InvoiceRegistered,
    PaymentRecorded,
)
from eventstore.records import EventMetadata, NewEvent
from eventstore.store import EventStore
from projections.projector import current_position, project_batch
from schemas.invoice import DebtorKind, InvoiceIn
from services.api.case_ids import case_id_for, workflow_id_for
from storage.tables import balance_movements, case_list, cases
from tests.support.invoices import invoice_payload


def new_tenant() -> str:
    """A tenant no other test uses: assertions look at its rows only."""
    return f"t-{uuid.uuid4().hex[:12]}"


async def drain(engine: AsyncEngine, store: EventStore, batch: int = 200) -> int:
    """Project until caught up; how many events that took."""
    total = 0
    while applied := await project_batch(engine, store, batch):
        total += applied
    return total


async def checkpoint(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await current_position(conn)


class Books:
    def __init__(self, engine: AsyncEngine, store: EventStore, tenant: str) -> None:
        self.engine, self.store, self.tenant = engine, store, tenant

    async def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """This tenant's rows of the projection's tables, in key order: what a rebuild
        must write again. Other tenants' cases (the session's service runs timelines
        meanwhile) may gain events between two reads, so they are left out."""
        async with self.engine.connect() as conn:
            return {
                table.name: [
                    tuple(r)
                    for r in await conn.execute(
                        select(table)
                        .where(table.c.tenant == self.tenant)
                        .order_by(*table.primary_key.columns)
                    )
                ]
                for table in (case_list, balance_movements)
            }

    async def invoice(
        self,
        amount: str,
        issued: date,
        due: date,
        debtor: str = "Durand SARL",
        siren: str | None = "732829320",
        *,
        with_case_row: bool = True,
    ) -> str:
        """Register an invoice as intake does (a `cases` row) and as the workflow does (the
        event); returns the case id."""
        number = f"F-{uuid.uuid4().hex[:10]}"
        case_id = case_id_for(self.tenant, number)
        if with_case_row:
            await self.case_row(case_id, number, amount, issued, due, debtor, siren)
        kind = DebtorKind.business if siren else DebtorKind.consumer
        event = InvoiceRegistered(
            invoice_number=number,
            issue_date=issued,
            due_date=due,
            currency="EUR",
            amount_due=Decimal(amount),
            debtor_kind=kind,
            policy_id=f"fr-{kind.value}-standard",
            policy_version=1,
        )
        await self.record(case_id, event)
        return case_id

    async def case_row(
        self,
        case_id: str,
        number: str,
        amount: str,
        issued: date,
        due: date,
        debtor: str,
        siren: str | None,
    ) -> None:
        kind = "business" if siren else "consumer"
        payload = invoice_payload(
            invoice_number=number,
            issue_date=issued.isoformat(),
            due_date=due.isoformat(),
            amount_due=amount,
        )
        payload["debtor"].update(kind=kind, name=debtor, siren=siren)
        invoice = InvoiceIn.model_validate(payload)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(cases).values(
                    case_id=case_id,
                    tenant=self.tenant,
                    invoice_number=number,
                    workflow_id=workflow_id_for(self.tenant, number),
                    content_hash=invoice.content_hash(),
                    policy_id=f"fr-{kind}-standard",
                    policy_version=1,
                    invoice=invoice.model_dump(mode="json"),
                )
            )

    async def record(self, case_id: str, *events: DomainEvent) -> int:
        """Append facts to the case's stream; the position of the last one."""
        meta = EventMetadata(tenant=self.tenant, actor="system")
        batch = [NewEvent.of(e, event_id=uuid.uuid4(), metadata=meta) for e in events]
        version = await self.store.stream_version(case_id)
        recorded = await self.store.append(case_id, batch, expected_version=version)
        return recorded[-1].position

    async def pay(self, case_id: str, amount: str, on: date, balance_after: str) -> int:
        payment = PaymentRecorded(
            amount=Decimal(amount),
            paid_on=on,
            reference=f"VIR-{uuid.uuid4().hex[:8]}",
            balance_after=Decimal(balance_after),
        )
        return await self.record(case_id, payment)

    async def close(self, case_id: str, reason: CloseReason, on: date, balance: str) -> int:
        event = CaseClosed(reason=reason, balance=Decimal(balance), closed_on=on)
        return await self.record(case_id, event)

    async def project(self) -> int:
        return await drain(self.engine, self.store)

    async def rows(self) -> dict[str, dict[str, Any]]:
        """This tenant's case_list rows by case id."""
        query = select(case_list).where(case_list.c.tenant == self.tenant)
        async with self.engine.connect() as conn:
            return {r.case_id: dict(r._mapping) for r in await conn.execute(query)}

    async def movements(self, case_id: str | None = None) -> list[tuple[str, date, Decimal]]:
        """(kind, value date, amount) of this tenant's ledger, in event order."""
        m = balance_movements.c
        query = select(m.kind, m.on_date, m.amount).where(m.tenant == self.tenant)
        if case_id is not None:
            query = query.where(m.case_id == case_id)
        async with self.engine.connect() as conn:
            found = await conn.execute(query.order_by(m.position))
            return [(r.kind, r.on_date, r.amount) for r in found]
