"""Facts of reaching the debtor: reminders, calls, the formal notice and its letter."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from eventstore.events.base import DomainEvent
from schemas.money import Amount, Balance


class ReminderChannel(StrEnum):
    """The reminder channels of schemas.policy.Channel, frozen here: stored facts outlive config."""

    email = "email"
    letter = "letter"
    letter_and_email = "letter_and_email"


class ReminderSent(DomainEvent):
    """An amicable reminder went out for a policy step.

    v2 added ``channel``; v1 reminders were all emails (see the upcaster).
    """

    event_type: ClassVar[str] = "ReminderSent"
    schema_version: ClassVar[int] = 2

    step: str = Field(min_length=1, max_length=64)
    template: str = Field(min_length=1, max_length=100)
    channel: ReminderChannel
    message_id: str | None = Field(default=None, description="Provider reference")
    sent_at: AwareDatetime


class CallOutcome(StrEnum):
    promise_to_pay = "promise_to_pay"
    dispute = "dispute"
    no_answer = "no_answer"
    wrong_number = "wrong_number"
    other = "other"


class PhoneCallLogged(DomainEvent):
    """An operator called the debtor and recorded the outcome."""

    event_type: ClassVar[str] = "PhoneCallLogged"

    called_at: AwareDatetime
    operator: str = Field(min_length=1, max_length=100)
    outcome: CallOutcome
    note: str | None = Field(default=None, max_length=2000)


class FormalNoticeSent(DomainEvent):
    """The mise en demeure left by registered letter (LRAR), with its breakdown."""

    event_type: ClassVar[str] = "FormalNoticeSent"

    letter_reference: str = Field(min_length=1, max_length=100)
    sent_on: date
    principal: Amount
    late_penalties: Balance
    recovery_indemnity: Balance
    deadline_days: int = Field(ge=1, description="Days from first presentation")


class LetterStatus(StrEnum):
    presented = "presented"
    delivered = "delivered"
    not_collected = "not_collected"
    refused = "refused"
    wrong_address = "wrong_address"


class RegisteredLetterPresented(DomainEvent):
    """The postal provider reported a status of a registered letter."""

    event_type: ClassVar[str] = "RegisteredLetterPresented"

    letter_reference: str = Field(min_length=1, max_length=100)
    status: LetterStatus
    status_on: date


class LetterAnomalyKind(StrEnum):
    rejected = "rejected"
    recipient_rejected = "recipient_rejected"
    canceled = "canceled"
    blocked = "blocked"


class RegisteredLetterUndelivered(DomainEvent):
    """The postal provider will not deliver a registered letter (``final``: rejected,
    recipient refused, canceled) or holds it (blocked until the account is funded)."""

    event_type: ClassVar[str] = "RegisteredLetterUndelivered"

    letter_reference: str = Field(min_length=1, max_length=100)
    anomaly: LetterAnomalyKind
    final: bool
    reason: str = Field(min_length=1, max_length=300)
    provider_status: str = Field(default="", max_length=40)
