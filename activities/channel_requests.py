"""What the workflow asks of the non-email channels, and what it gets back.

Each channel is a named activity (activities/channel_activities.py). In this
release they record, idempotently, exactly what they would send; issue 5
connects them to real providers (registered mail, agencies, commissaires).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ChannelName = Literal[
    "letter", "registered_letter", "phone_task", "handoff", "court_file", "claim_declaration"
]
PartnerKind = Literal[
    "agency", "commissaire_small_claims", "commissaire_enforcement", "mandataire", "court"
]


class Recipient(BaseModel):
    name: str
    email: str | None = None
    address_lines: list[str] = Field(default_factory=list)
    debtor_id: str | None = None
    """Set (with ``name`` ``debtor:<id>`` and no contact) when the recipient is the debtor
    of a case that keeps its identity in the vault: the activity fills the rest in."""


class ChannelRequest(BaseModel):
    """One outgoing action of a case step. ``context`` values are already formatted strings
    (amounts like "1 200,00 €", dates like "31/10/2026") so templates stay logic-free."""

    idempotency_key: str
    case_id: str
    tenant: str
    step: str
    channel: ChannelName
    template: str
    recipient: Recipient
    partner: PartnerKind | None = None
    context: dict[str, str] = Field(default_factory=dict)
    debtor_id: str | None = None
    """The case's debtor, whose name and address the activity adds to ``context``
    (activities/debtor_contact.py); None when the context already holds them."""


class ChannelReceipt(BaseModel):
    reference: str
    """The ledger's reference for the action (later: the provider's or partner's)."""
    recorded_at: datetime
    duplicate: bool
    """True when this idempotency key had been recorded before: nothing was done again."""
    summary: str
    """One line a person can read: what was (or would be) sent, to whom."""


def reference_for(idempotency_key: str) -> str:
    """The same key always yields the same reference."""
    return "OUT-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
