"""When a debtor's personal data may no longer be kept, and the sweep that erases it.

A closed case is kept, as an intermediate archive, for its claim's prescription period
(french-collection-law.md s.9, the CNIL framework for unpaid-debt management), plus a margin
the creditor sets (RECOUVRE_RETENTION_MARGIN_DAYS: time for a late dispute or an audit).
The invoices themselves are kept 10 years for accounting by the creditor's own books, not
by recouvre, whose sealed copy of an e-invoice goes with the rest. A debtor's data goes once
every case of it is closed and the last retention has ended; the sweep destroys its data
key (storage/debtor_vault.py), which makes every sealed copy unreadable while the event
store's chains still verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from legal.prescription import add_years
from projections.case_view_store import debtor_case_views
from schemas.case import CaseView, Stage
from storage.debtor_vault import DebtorVault
from storage.tables import debtors

FALLBACK_YEARS = 5
"""A closed case that knows no prescription date is kept 5 years from its closing (the
ordinary period, C. com. L110-4 / C. civ. 2224)."""


def retention_ends_on(views: Sequence[CaseView], margin: timedelta) -> date | None:
    """The day after which a debtor's data may be erased: the latest of its cases'
    prescription dates plus ``margin``; None while a case is open (or it has none)."""
    if not views or any(v.stage is not Stage.closed for v in views):
        return None
    ends = []
    for view in views:
        if view.prescription_last_day is not None:
            ends.append(view.prescription_last_day)
        elif view.closed_at is not None:
            ends.append(add_years(view.closed_at.date(), FALLBACK_YEARS))
        else:
            return None
    return max(ends) + margin


@dataclass(frozen=True)
class Erased:
    tenant: str
    debtor_id: str
    retention_ended_on: date


async def erase_expired_debtors(
    engine: AsyncEngine,
    vault: DebtorVault,
    margin: timedelta,
    today: date,
    limit: int = 500,
    tenant: str | None = None,
) -> list[Erased]:
    """Erase every debtor (of ``tenant``, or all) whose retention ended before ``today``;
    idempotent (an erased debtor is never read again), each in its own transaction."""
    query = select(debtors.c.tenant, debtors.c.debtor_id).where(debtors.c.erased_at.is_(None))
    if tenant is not None:
        query = query.where(debtors.c.tenant == tenant)
    async with engine.connect() as conn:
        candidates = list(await conn.execute(query.order_by(debtors.c.updated_at).limit(limit)))
    erased: list[Erased] = []
    for owner, debtor_id in candidates:
        async with engine.begin() as conn:
            ends = retention_ends_on(await debtor_case_views(conn, owner, [debtor_id]), margin)
            if ends is None or ends >= today:
                continue
            reason = f"retention_ended: {ends} (prescription + {margin.days} days)"
            await vault.erase(conn, owner, debtor_id, reason)
        erased.append(Erased(owner, debtor_id, ends))
    return erased
