"""Online payments Stripe confirmed that recouvre could not apply in full: money the
creditor holds and no case shows (an invoice closed meanwhile, paid by transfer as well;
a case refusing the payment). The console's worklist lists them for an operator to
allocate by hand or refund; they stay listed for ``WINDOW_DAYS``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from services.api.deps import Runtime
from storage.tables import online_payments, provider_events

UNAPPLIED = ("paid_not_all_applied", "not_applied")
"""The outcomes inbound/stripe_webhooks.py records for such a payment."""
WINDOW_DAYS = 90
LIMIT = 50
OUTCOME_LABELS = {
    "paid_not_all_applied": "en partie imputé",
    "not_applied": "non imputé",
}


@dataclass(frozen=True)
class UnappliedPayment:
    payment_id: str
    debtor_id: str
    debtor_name: str
    amount: Decimal
    paid_at: datetime | None
    outcome: str
    case_ids: tuple[str, ...]
    """The invoices the payment was allocated to when the debtor paid."""


async def unapplied_payments(runtime: Runtime, tenant: str) -> list[UnappliedPayment]:
    """The tenant's recent online payments received but not (all) applied, newest first."""
    p, e = online_payments, provider_events
    since = datetime.now(UTC) - timedelta(days=WINDOW_DAYS)
    query = (
        select(p, e.c.outcome)
        .join(e, (e.c.event_id == p.c.provider_event_id) & (e.c.provider == p.c.provider))
        .where(p.c.tenant == tenant, e.c.outcome.in_(UNAPPLIED), e.c.received_at >= since)
        .order_by(e.c.received_at.desc())
        .limit(LIMIT)
    )
    async with runtime.reads.connect() as conn:
        rows = list(await conn.execute(query))
        records = await runtime.debtors.records(conn, tenant, {r.debtor_id for r in rows})
    names = {r.debtor_id: r.identity.name if r.identity else "—" for r in records}
    return [
        UnappliedPayment(
            payment_id=r.payment_id,
            debtor_id=r.debtor_id,
            debtor_name=names.get(r.debtor_id, "—"),
            amount=r.amount,
            paid_at=r.paid_at,
            outcome=OUTCOME_LABELS.get(r.outcome, r.outcome),
            case_ids=tuple(s["case_id"] for s in r.allocation.get("shares", [])),
        )
        for r in rows
    ]
