"""Facts with legal weight: disputes, insolvency, claims and prescription."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from eventstore.events.base import DomainEvent
from schemas.money import Amount, Balance


class DisputeOpened(DomainEvent):
    """The debtor contests the claim; every step is suspended until it is resolved."""

    event_type: ClassVar[str] = "DisputeOpened"

    dispute_id: str = Field(min_length=1, max_length=64)
    opened_on: date
    reason: str = Field(min_length=1, max_length=2000)
    disputed_amount: Amount | None = Field(default=None, description="None: the whole claim")


class DisputeOutcome(StrEnum):
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    rejected = "rejected"


class DisputeResolved(DomainEvent):
    """A dispute ended; a credited amount reduces the balance."""

    event_type: ClassVar[str] = "DisputeResolved"

    dispute_id: str = Field(min_length=1, max_length=64)
    resolved_on: date
    outcome: DisputeOutcome
    credited_amount: Balance


class ProceedingKind(StrEnum):
    sauvegarde = "sauvegarde"
    redressement_judiciaire = "redressement_judiciaire"
    liquidation_judiciaire = "liquidation_judiciaire"


class InsolvencyDetected(DomainEvent):
    """A collective proceeding against the debtor was published: steps freeze."""

    event_type: ClassVar[str] = "InsolvencyDetected"

    proceeding: ProceedingKind
    published_on: date
    court: str = Field(min_length=1, max_length=200)
    claim_deadline: date


class ClaimDeclared(DomainEvent):
    """The claim was declared to the mandataire judiciaire."""

    event_type: ClassVar[str] = "ClaimDeclared"

    declared_on: date
    amount: Amount
    mandataire: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, max_length=100)


class PrescriptionAlerted(DomainEvent):
    """The prescription date is near (alerts at 90 and 30 days)."""

    event_type: ClassVar[str] = "PrescriptionAlerted"

    prescription_date: date
    days_left: int = Field(ge=0)
