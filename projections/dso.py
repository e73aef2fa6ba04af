"""DSO (days sales outstanding) per tenant and period, by the countback method.

For a period end E, take the receivables still open on E (the ledger summed up to E:
invoices issued, less payments, credits and write-offs dated on or before E). Then
count back through the sales, month by month, from E's month: while the receivables
left exceed a month's sales, that month's days all count and its sales are taken off;
the month that exhausts them counts for the fraction ``left / sales`` of its days.
Sales are the amounts due of the invoices issued in the month (gross: a later credit
lowers the receivables, not the past sales). E's own month counts from its 1st to E,
so a period end in mid-month uses the days and sales so far.

Worked example, a period ending 2026-03-31 with 25,000.00 open:

    month     days   sales       left before  counted
    March      31    10,000.00   25,000.00    31 days, 15,000.00 left
    February   28    12,000.00   15,000.00    28 days,  3,000.00 left
    January    31    15,000.00    3,000.00    31 x 3,000 / 15,000 = 6.2 days
    DSO = 31 + 28 + 6.2 = 65.2 days

No receivables: DSO 0. Receivables older than every recorded sale (they cannot be,
unless the ledger lacks history): every day back to the first sale counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.calendar import month_start, period_ends
from projections.projector import current_position
from schemas.money import Balance
from storage.tables import balance_movements

TENTH = Decimal("0.1")
ZERO = Decimal("0.00")


class DailyAmounts:
    """Amounts by day (sales by issue date, ledger movements by value date), summed fast
    over any range of days."""

    def __init__(self, by_day: Mapping[date, Decimal]) -> None:
        self._days = sorted(by_day)
        self._cumulative = [ZERO, *accumulate(by_day[d] for d in self._days)]

    @property
    def first_day(self) -> date | None:
        """The earliest day with an amount."""
        return self._days[0] if self._days else None

    def between(self, first: date, last: date) -> Decimal:
        """The amounts from ``first`` to ``last``, both included."""
        lo, hi = bisect_left(self._days, first), bisect_right(self._days, last)
        return self._cumulative[hi] - self._cumulative[lo]


def countback_dso(period_end: date, receivables: Decimal, sales: DailyAmounts) -> Decimal:
    """DSO in days (one decimal) of ``receivables`` open on ``period_end`` (see above)."""
    first_day = sales.first_day
    if receivables <= 0 or first_day is None:
        return Decimal("0.0")
    left, days, end = receivables, Decimal(0), period_end
    while end >= month_start(first_day):
        start = month_start(end)
        span = (end - start).days + 1
        month_sales = sales.between(start, end)
        if month_sales >= left:
            return (days + span * left / month_sales).quantize(TENTH, ROUND_HALF_UP)
        left -= month_sales
        days += span
        end = start - timedelta(days=1)
    return days.quantize(TENTH, ROUND_HALF_UP)


class DsoPoint(BaseModel):
    period_end: date
    receivables: Balance = Field(description="Open on period_end")
    sales: Balance = Field(description="Invoiced in period_end's month, up to period_end")
    dso_days: Decimal = Field(description="Countback DSO, one decimal")


class DsoReport(BaseModel):
    method: str = "countback"
    position: int = Field(description="Last event position the report includes")
    points: list[DsoPoint] = Field(description="Each month end in the range, and its last day")


async def dso_report(engine: AsyncEngine, tenant: str, first: date, last: date) -> DsoReport:
    """``tenant``'s DSO at each month end from ``first`` to ``last`` (and on ``last``)."""
    m = balance_movements.c
    daily = (
        select(
            m.on_date,
            func.coalesce(func.sum(m.amount).filter(m.kind == "invoice"), ZERO).label("sales"),
            func.sum(m.amount).label("net"),
        )
        .where(m.tenant == tenant, m.on_date <= last)
        .group_by(m.on_date)
        .order_by(m.on_date)
    )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        position = await current_position(conn)
        rows = (await conn.execute(daily)).all()
    sales = DailyAmounts({row.on_date: row.sales for row in rows if row.sales})
    ledger = DailyAmounts({row.on_date: row.net for row in rows})
    points = []
    for end in period_ends(first, last):
        open_on_end = ledger.between(date.min, end)
        points.append(
            DsoPoint(
                period_end=end,
                receivables=open_on_end,
                sales=sales.between(month_start(end), end),
                dso_days=countback_dso(end, open_on_end, sales),
            )
        )
    return DsoReport(position=position, points=points)
