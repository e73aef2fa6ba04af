"""The debtor as a case knows it: an id, never an identity (docs/data-protection.md).

The debtor's name, identifiers, email, phone and street address are kept once, encrypted,
in PostgreSQL (storage/debtor_vault.py). Workflows, activity requests, the event store and
the read model carry a ``DebtorRef``; an activity that writes to the debtor fetches the
identity when it needs it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.invoice import Debtor, DebtorKind, InvoiceIn
from schemas.money import Balance


class IdentifiedBy(StrEnum):
    """Which identifier makes two invoices the same debtor's, in this order of preference."""

    siren = "siren"
    vat_number = "vat_number"
    registration_id = "registration_id"
    customer_id = "customer_id"
    email = "email"
    """A private person without an ERP customer id: the same email is the same person."""


class DebtorRef(BaseModel):
    """What a case carries about its debtor: no name, no contact, no street."""

    model_config = ConfigDict(extra="forbid")

    debtor_id: str = Field(min_length=1, max_length=40)
    kind: DebtorKind
    country: str = "FR"
    postal_code: str = ""
    """Kept for the legal calendar (Alsace-Moselle and overseas holidays) and the court's
    competence; alone it identifies no one."""


class CaseInvoice(BaseModel):
    """The invoice as its case holds it. Cases opened before the debtor accounts carry the
    whole ``Debtor`` (their histories still replay); new ones carry a ``DebtorRef``."""

    model_config = ConfigDict(from_attributes=True)
    """An ``InvoiceIn`` converts as it is (its debtor in clear: the legacy shape)."""

    invoice_number: str
    issue_date: date
    due_date: date
    currency: str
    amount_due: Balance
    debtor: DebtorRef | Debtor
    policy: str | None = None

    @classmethod
    def of(cls, invoice: InvoiceIn, ref: DebtorRef) -> CaseInvoice:
        return cls(
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            currency=invoice.currency,
            amount_due=invoice.amount_due,
            debtor=ref,
            policy=invoice.policy,
        )

    @property
    def debtor_id(self) -> str | None:
        return self.debtor.debtor_id if isinstance(self.debtor, DebtorRef) else None


def identifier_of(debtor: Debtor) -> tuple[IdentifiedBy, str]:
    """The identifier that names ``debtor`` among its creditor's debtors."""
    if debtor.siren:
        return IdentifiedBy.siren, debtor.siren
    if debtor.vat_number:
        return IdentifiedBy.vat_number, debtor.vat_number.upper()
    if debtor.registration_id:
        return IdentifiedBy.registration_id, f"{debtor.address.country}:{debtor.registration_id}"
    if debtor.customer_id:
        return IdentifiedBy.customer_id, debtor.customer_id
    return IdentifiedBy.email, str(debtor.email).lower()
