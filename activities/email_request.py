"""What the workflow asks of the email channel, and what it gets back."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from schemas.money import Balance


class EmailRequest(BaseModel):
    idempotency_key: str
    case_id: str
    tenant: str
    step: str
    template: str
    to: str
    debtor_name: str
    debtor_kind: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount_due: Balance
    balance: Balance
    currency: str
    debtor_id: str | None = None
    """When set, ``to`` and ``debtor_name`` are placeholders: the activity reads the
    debtor's address and name from the vault (activities/debtor_contact.py)."""
    attach_document: str | None = None
    """Idempotency key of a channel document (e.g. the statement letter) to attach as PDF."""
    attach_receipt: dict[str, str] | None = None
    """The claim's context after the payment (amounts, dates, payment_date,
    payment_amount): the email carries the payment receipt laid out as a PDF."""
    attach_invoice_file: bool = False
    """Attach the invoice as the ERP sent it (the e-invoice kept in case_files), if any."""


class EmailReceipt(BaseModel):
    message_id: str
    recipient: str
    subject: str
    sent_at: datetime
    duplicate: bool
    """True when this idempotency key had already been sent: nothing went out again."""
    resent: bool = False
    """True when an earlier attempt died after starting DATA, so this send (same
    Message-ID) may have reached the debtor twice (docs/architecture.md, exactly-once)."""


class InvalidRecipient(Exception):
    """The relay refused the recipient: retrying will not help."""
