"""Facts of what the debtor agreed to, and of agreements not kept."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from eventstore.events.base import DomainEvent
from schemas.money import Amount, Balance


class PromiseToPayMade(DomainEvent):
    """The debtor promised to pay an amount by a date; the case waits until then."""

    event_type: ClassVar[str] = "PromiseToPayMade"

    amount: Amount
    promised_by: date
    grace_days: int = Field(default=0, ge=0)


class PromiseBroken(DomainEvent):
    """The promised date (plus grace) passed without the promised amount."""

    event_type: ClassVar[str] = "PromiseBroken"

    promised_by: date
    amount_promised: Amount
    amount_received: Balance


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due_on: date
    amount: Amount


class PaymentPlanAgreed(DomainEvent):
    """A schedule of instalments was agreed; escalation waits while they arrive."""

    event_type: ClassVar[str] = "PaymentPlanAgreed"

    plan_id: str = Field(min_length=1, max_length=64)
    agreed_on: date
    instalments: tuple[Instalment, ...] = Field(min_length=1)


class InstalmentMissed(DomainEvent):
    """An instalment of a plan was not paid: the case resumes for the whole balance."""

    event_type: ClassVar[str] = "InstalmentMissed"

    plan_id: str = Field(min_length=1, max_length=64)
    instalment_number: int = Field(ge=1)
    due_on: date
    amount: Amount
