"""What a case and its debtor's conversation tell each other (docs/debtor-accounts.md).

The case workflow keeps its invoice's legal timeline; when a reminder email comes due it
asks the debtor's conversation workflow to send it (``ContactRequest``). The conversation
waits the policy's grouping window, sends one email listing every invoice whose reminder
came due meanwhile, and tells each case what was sent (``ContactOutcome``). Nothing here
names the debtor: requests carry its id; the email activity opens the identity.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from activities.channel_requests import ChannelRequest
from activities.email_request import EmailRequest
from schemas.contact_policy import ContactPolicy
from schemas.money import Balance


class ContactRequest(BaseModel):
    """A case's reminder (an email) or letter (the statement of account, the formal notice
    by registered post), due now, for its debtor's conversation to send."""

    case_workflow_id: str
    email: EmailRequest | None = None
    """The email the case would have sent alone (idempotency key ``<case>/<step>``)."""
    letter: ChannelRequest | None = None
    """Or the letter it would have posted alone (``<case>/<step>/<channel>``)."""
    amounts: dict[str, str] = Field(default_factory=dict)
    """The claim as the letter states it, formatted: penalties, indemnity, total."""
    line_total: Balance
    """What the case's line claims: the balance, plus penalties and indemnity (B2B)."""
    requested_at: datetime

    @model_validator(mode="after")
    def _one_message(self) -> ContactRequest:
        if (self.email is None) == (self.letter is None):
            raise ValueError("a contact request carries an email or a letter")
        return self

    @property
    def key(self) -> str:
        return self.email.idempotency_key if self.email else self._letter.idempotency_key

    @property
    def channel(self) -> str:
        """email, letter or registered_letter: only requests of one channel go together."""
        return "email" if self.email else self._letter.channel

    @property
    def step(self) -> str:
        return self.email.step if self.email else self._letter.step

    @property
    def invoice_number(self) -> str:
        if self.email:
            return self.email.invoice_number
        return self._letter.context.get("invoice_number", "")

    @property
    def _letter(self) -> ChannelRequest:
        assert self.letter is not None
        return self.letter


class ContactOutcome(BaseModel):
    """What the conversation did with a case's request."""

    step: str
    status: str = Field(description="sent | failed")
    message_id: str | None = None
    recipient: str = ""
    detail: str = ""
    grouped_with: list[str] = Field(
        default_factory=list, description="The other invoice numbers in the same message"
    )


class ConversationStart(BaseModel):
    """Input of a debtor's conversation workflow (and of each continue-as-new)."""

    tenant: str
    debtor_id: str
    kind: str = "business"
    contact_policy: ContactPolicy
    """The caps, hours and grouping window, as the debtor's first request brought them
    (the version is recorded in the conversation's history)."""
    activity_timeout_s: int = 60
    pending: list[ContactRequest] = Field(default_factory=list)
    contacts: list[datetime] = Field(default_factory=list)
    """When the debtor was contacted (most recent last), for the contact caps."""
    sent: int = 0
    """How many messages the conversation has sent (the next message's sequence number)."""
    answered: dict[str, ContactOutcome] = Field(default_factory=dict)
    """What each request key was answered, most recent last: a redelivered request that
    was sent gets the same answer again (nothing is sent twice); one that failed or was
    withdrawn is a new request (an operator's retry after a bounce)."""


def conversation_id(tenant: str, debtor_id: str) -> str:
    """The workflow id of a debtor's conversation: one per debtor of a tenant."""
    return f"debtor-{tenant}-{debtor_id}"
