"""What the debtor's conversation asks of the email channel: one message, several invoices."""

from __future__ import annotations

from pydantic import BaseModel, Field

from activities.email_request import EmailRequest
from schemas.money import Balance


class GroupedEmailRequest(BaseModel):
    idempotency_key: str
    """``<debtor_id>/contact/<n>``: the message's own key in the email ledger."""
    tenant: str
    debtor_id: str
    template: str = "grouped_reminder@1"
    items: list[EmailRequest] = Field(min_length=2)
    """Each invoice's own reminder (as its case would have sent it alone): the ledger gets
    one row per item under the item's key, so the case's dossier shows the message and a
    later send under the item's key finds it sent."""
    amounts: list[dict[str, str]] = Field(default_factory=list)
    """Per item, the formatted penalties, indemnity and total (B2B)."""
    line_totals: list[Balance] = Field(default_factory=list)
    """Per item, what its line claims (balance, penalties, indemnity): the message's total
    is their sum."""
