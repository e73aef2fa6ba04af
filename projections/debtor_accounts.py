"""A debtor's account: its invoices, balance, aged buckets, contacts and holds, folded from
the views its cases' workflows published (pure: the API adds the identity)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from schemas.case import CaseView, Stage
from schemas.money import Balance


class AgedBuckets(BaseModel):
    not_due: Balance = Decimal("0.00")
    days_1_30: Balance = Decimal("0.00")
    days_31_60: Balance = Decimal("0.00")
    days_61_90: Balance = Decimal("0.00")
    over_90: Balance = Decimal("0.00")


class DebtorInvoice(BaseModel):
    case_id: str
    invoice_number: str
    due_date: date
    amount_due: Balance
    balance: Balance
    stage: Stage
    outcome: str | None = None
    holds: list[str] = Field(default_factory=list, description="Kinds of the case's holds")


class DebtorContact(BaseModel):
    """One action towards the debtor (or about it), from any of its cases."""

    case_id: str
    invoice_number: str
    step: str
    label: str
    channel: str
    at: datetime
    status: str
    reference: str | None = None


class DebtorHold(BaseModel):
    case_id: str
    kind: str
    since: datetime
    reason: str
    until: date | None = None


class DebtorSummary(BaseModel):
    open_invoices: list[DebtorInvoice]
    closed_invoices: int
    total_balance: Balance
    aged: AgedBuckets
    contacts: list[DebtorContact]
    holds: list[DebtorHold]


def bucket_of(due: date, as_of: date) -> str:
    late = (as_of - due).days
    if late <= 0:
        return "not_due"
    if late <= 30:
        return "days_1_30"
    if late <= 60:
        return "days_31_60"
    return "days_61_90" if late <= 90 else "over_90"


def summarize(views: list[CaseView], as_of: date) -> DebtorSummary:
    """The account of the debtor whose cases these are, on ``as_of``."""
    open_views = [v for v in views if v.stage is not Stage.closed]
    aged = AgedBuckets()
    for view in open_views:
        name = bucket_of(view.due_date, as_of)
        setattr(aged, name, getattr(aged, name) + view.balance)
    contacts = [
        DebtorContact(
            case_id=v.case_id,
            invoice_number=v.invoice_number,
            step=a.step,
            label=a.label,
            channel=a.channel.value,
            at=a.done_at,
            status=a.status,
            reference=a.reference,
        )
        for v in views
        for a in v.actions
    ]
    holds = [
        DebtorHold(
            case_id=v.case_id, kind=h.kind.value, since=h.since, reason=h.reason, until=h.until
        )
        for v in open_views
        for h in v.holds
    ]
    return DebtorSummary(
        open_invoices=[
            DebtorInvoice(
                case_id=v.case_id,
                invoice_number=v.invoice_number,
                due_date=v.due_date,
                amount_due=v.amount_due,
                balance=v.balance,
                stage=v.stage,
                outcome=v.outcome.value if v.outcome else None,
                holds=[h.kind.value for h in v.holds],
            )
            for v in sorted(open_views, key=lambda v: (v.due_date, v.invoice_number))
        ],
        closed_invoices=len(views) - len(open_views),
        total_balance=sum((v.balance for v in open_views), Decimal("0.00")),
        aged=aged,
        contacts=sorted(contacts, key=lambda c: (c.at, c.case_id, c.step)),
        holds=sorted(holds, key=lambda h: (h.since, h.case_id)),
    )
