"""Balance âgée: a tenant's open receivables on a date, by how late they are.

A case's open balance on day D is the sum of its ledger movements dated on or before D
(invoice issued, minus payments, credits and write-offs by value date), so past dates
are answered as they stood then. Each open balance falls in one bucket by the days
between its due date and D: not due (0 or fewer), 1-30, 31-60, 61-90, over 90.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Date, Row, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.projector import current_position
from schemas.money import Balance
from storage.tables import balance_movements, case_list

ZERO = Decimal("0.00")


class AgedBuckets(BaseModel):
    not_due: Balance = ZERO
    days_1_30: Balance = ZERO
    days_31_60: Balance = ZERO
    days_61_90: Balance = ZERO
    over_90: Balance = ZERO
    total: Balance = ZERO
    invoices: int = Field(default=0, description="Invoices with an open balance")

    def add(self, other: AgedBuckets) -> AgedBuckets:
        """Both sets of buckets summed (the tenant's are the sum of its debtors')."""
        summed = {name: getattr(self, name) + getattr(other, name) for name in _SUMMED}
        return AgedBuckets(**summed)


class DebtorAging(AgedBuckets):
    debtor_name: str | None
    debtor_siren: str | None
    debtor_id: str | None = None
    """The debtor account; its name and SIREN are filled in by the API from the vault."""


class AgedBalanceReport(BaseModel):
    as_of: date
    position: int = Field(description="Last event position the report includes")
    tenant: AgedBuckets
    debtors: list[DebtorAging] | None = Field(
        default=None, description="Per debtor (SIREN, or name without one), largest first"
    )


_SUMMED = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90", "total", "invoices")


def _aging_query(tenant: str, as_of: date) -> Any:
    day = bindparam("as_of", as_of, type_=Date)
    m = balance_movements.c
    open_ = (
        select(m.case_id, func.sum(m.amount).label("open"))
        .where(m.tenant == tenant, m.on_date <= day)
        .group_by(m.case_id)
        .having(func.sum(m.amount) > 0)
        .subquery()
    )
    late = day - case_list.c.due_date
    amount = open_.c.open

    def bucket(condition: Any) -> Any:
        return func.coalesce(func.sum(amount).filter(condition), ZERO)

    # A debtor is its account when it has one; before the accounts, its SIREN when it has
    # one (names vary between invoices), else its name.
    debtor_key = func.coalesce(
        case_list.c.debtor_id, case_list.c.debtor_siren, func.lower(case_list.c.debtor_name)
    )
    return (
        select(
            func.min(case_list.c.debtor_name).label("debtor_name"),
            func.min(case_list.c.debtor_siren).label("debtor_siren"),
            func.min(case_list.c.debtor_id).label("debtor_id"),
            bucket(late <= 0).label("not_due"),
            bucket(and_(late >= 1, late <= 30)).label("days_1_30"),
            bucket(and_(late >= 31, late <= 60)).label("days_31_60"),
            bucket(and_(late >= 61, late <= 90)).label("days_61_90"),
            bucket(late > 90).label("over_90"),
            func.sum(amount).label("total"),
            func.count().label("invoices"),
        )
        .select_from(open_.join(case_list, case_list.c.case_id == open_.c.case_id))
        .group_by(debtor_key)
    )


def _debtor(row: Row[Any]) -> DebtorAging:
    return DebtorAging.model_validate(row._mapping)


async def aged_balance(
    engine: AsyncEngine, tenant: str, as_of: date, *, by_debtor: bool = False
) -> AgedBalanceReport:
    """``tenant``'s open balances on ``as_of`` in age buckets, in all and per debtor."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        position = await current_position(conn)
        debtors = [_debtor(row) for row in await conn.execute(_aging_query(tenant, as_of))]
    total = AgedBuckets()
    for debtor in debtors:
        total = total.add(debtor)
    debtors.sort(key=lambda d: (-d.total, d.debtor_name or "", d.debtor_siren or ""))
    return AgedBalanceReport(
        as_of=as_of, position=position, tenant=total, debtors=debtors if by_debtor else None
    )
