"""Events and envelopes for the event store tests: realistic, and new ids every call."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from eventstore.events import (
    CaseClosed,
    CloseReason,
    DomainEvent,
    InvoiceRegistered,
    PaymentRecorded,
    ReminderChannel,
    ReminderSent,
)
from eventstore.records import EventMetadata, NewEvent
from schemas.invoice import DebtorKind


def new_stream() -> str:
    """A case id no other test uses."""
    return str(uuid.uuid4())


def metadata(actor: str = "system") -> EventMetadata:
    return EventMetadata(
        tenant="acme",
        actor=actor,
        correlation_id="req-42",
        workflow_id="invoice:acme:F-1",
        run_id="run-1",
    )


def envelope(event: DomainEvent, event_id: uuid.UUID | None = None) -> NewEvent:
    return NewEvent.of(event, event_id=event_id or uuid.uuid4(), metadata=metadata())


def invoice_registered(amount: str = "1200.00") -> InvoiceRegistered:
    return InvoiceRegistered(
        invoice_number="F-2026-0001",
        issue_date=date(2026, 10, 1),
        due_date=date(2026, 10, 31),
        currency="EUR",
        amount_due=Decimal(amount),
        debtor_kind=DebtorKind.business,
        policy_id="fr-b2b-standard",
        policy_version=1,
    )


def reminder_sent(step: str = "reminder_1") -> ReminderSent:
    return ReminderSent(
        step=step,
        template=f"{step}@1",
        channel=ReminderChannel.email,
        message_id=f"<{step}@recouvre.example>",
        sent_at=datetime(2026, 11, 7, 8, 0, tzinfo=UTC),
    )


def payment_recorded(amount: str = "200.00", balance_after: str = "1000.00") -> PaymentRecorded:
    return PaymentRecorded(
        amount=Decimal(amount),
        paid_on=date(2026, 11, 12),
        reference="VIR-123",
        balance_after=Decimal(balance_after),
    )


def case_closed() -> CaseClosed:
    return CaseClosed(reason=CloseReason.paid, balance=Decimal("0"), closed_on=date(2026, 12, 1))


def a_case() -> list[NewEvent]:
    """A whole case, from the invoice to its closing, as four envelopes."""
    return [
        envelope(invoice_registered()),
        envelope(reminder_sent()),
        envelope(payment_recorded(amount="1200.00", balance_after="0.00")),
        envelope(case_closed()),
    ]
