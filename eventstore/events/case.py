"""Facts that open, move and close a case."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from eventstore.events.base import DomainEvent
from schemas.invoice import DebtorKind
from schemas.money import Amount, Balance


class InvoiceRegistered(DomainEvent):
    """An ERP posted an unpaid invoice; the case starts under a given policy version.

    The debtor's identity stays in the mutable ``cases`` table: an append-only log is no
    place for personal data that may have to be erased.
    """

    event_type: ClassVar[str] = "InvoiceRegistered"

    invoice_number: str = Field(min_length=1, max_length=64)
    issue_date: date
    due_date: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount_due: Amount
    debtor_kind: DebtorKind
    policy_id: str
    policy_version: int = Field(ge=1)


class PaymentRecorded(DomainEvent):
    """Money was received for the invoice (in full or in part)."""

    event_type: ClassVar[str] = "PaymentRecorded"

    amount: Amount
    paid_on: date
    reference: str = Field(min_length=1, max_length=100)
    balance_after: Balance


class EscalationRoute(StrEnum):
    small_claims = "small_claims"
    injonction_de_payer = "injonction_de_payer"
    collection_agency = "collection_agency"
    enforcement = "enforcement"


class CaseEscalated(DomainEvent):
    """The amicable phase is over; the case enters a judicial or agency route."""

    event_type: ClassVar[str] = "CaseEscalated"

    route: EscalationRoute
    total_claimed: Amount
    escalated_on: date


class HandoverParty(StrEnum):
    commissaire_de_justice = "commissaire_de_justice"
    lawyer = "lawyer"
    collection_agency = "collection_agency"
    creditor = "creditor"


class CaseHandedOver(DomainEvent):
    """The file went to someone outside recouvre, who now acts on it."""

    event_type: ClassVar[str] = "CaseHandedOver"

    party: HandoverParty
    party_name: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, max_length=100)
    handed_over_on: date


class CloseReason(StrEnum):
    paid = "paid"
    cancelled = "cancelled"
    prescribed = "prescribed"
    written_off = "written_off"
    handed_over = "handed_over"
    insolvency_claim_declared = "insolvency_claim_declared"


class CaseClosed(DomainEvent):
    """Nothing more will be done on the case."""

    event_type: ClassVar[str] = "CaseClosed"

    reason: CloseReason
    balance: Balance
    closed_on: date
