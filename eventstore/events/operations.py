"""Facts of running a case: credit notes, holds, channel statuses, partner reports, tasks."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field

from eventstore.events.base import DomainEvent
from schemas.money import Amount, Balance


class CreditNoteIssued(DomainEvent):
    """The creditor credited part or all of the invoice."""

    event_type: ClassVar[str] = "CreditNoteIssued"

    amount: Amount
    reference: str = Field(min_length=1, max_length=100)
    balance_after: Balance
    issued_on: date | None = Field(default=None, description="The credit note's date")


class CasePaused(DomainEvent):
    """An operator put the case on hold; who is in the metadata's actor."""

    event_type: ClassVar[str] = "CasePaused"

    reason: str = Field(min_length=1, max_length=500)


class CaseResumed(DomainEvent):
    """An operator lifted the hold."""

    event_type: ClassVar[str] = "CaseResumed"

    reason: str = Field(min_length=1, max_length=500)


class EInvoicingStatusReceived(DomainEvent):
    """An approved platform reported a lifecycle status of the invoice (AFNOR XP Z12-013)."""

    event_type: ClassVar[str] = "EInvoicingStatusReceived"

    code: int = Field(ge=100, le=999)
    meaning: str = Field(min_length=1, max_length=200)
    reported_on: date


class PartnerReported(DomainEvent):
    """An agency or commissaire de justice reported on a handed-over case."""

    event_type: ClassVar[str] = "PartnerReported"

    status: str = Field(min_length=1, max_length=40)
    reported_on: date
    amount: Amount | None = None
    result: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=500)


class PhoneTaskCreated(DomainEvent):
    """A call was put on an operator's task list."""

    event_type: ClassVar[str] = "PhoneTaskCreated"

    step: str = Field(min_length=1, max_length=64)
    task_reference: str = Field(min_length=1, max_length=100)
    created_at: AwareDatetime


class PolicyMigrated(DomainEvent):
    """An operator moved the case to another policy version; done steps keep their place."""

    event_type: ClassVar[str] = "PolicyMigrated"

    from_policy: str = Field(min_length=1, max_length=64)
    from_version: int = Field(ge=1)
    to_policy: str = Field(min_length=1, max_length=64)
    to_version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=500)


class EmailBounced(DomainEvent):
    """The relay refused the debtor's address for good; an operator gets a task."""

    event_type: ClassVar[str] = "EmailBounced"

    step: str = Field(min_length=1, max_length=64)
    recipient: str = Field(min_length=1, max_length=320)
    reason: str = Field(min_length=1, max_length=500)
    bounced_at: AwareDatetime


class StepFailed(DomainEvent):
    """An outside action failed for good: the timeline stops at this step (a ``blocked``
    hold) until an operator fixes the cause and retries it."""

    event_type: ClassVar[str] = "StepFailed"

    step: str = Field(min_length=1, max_length=64)
    channel: str = Field(min_length=1, max_length=40)
    error: str = Field(min_length=1, max_length=500)
    failed_at: AwareDatetime


class StepRetried(DomainEvent):
    """An operator asked to run a failed step again (same idempotency key)."""

    event_type: ClassVar[str] = "StepRetried"

    step: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class ApprovalRequested(DomainEvent):
    """A step that requires a person's approval came due: the timeline waits for the
    decision (an ``approval`` hold) and the step does not run before it."""

    event_type: ClassVar[str] = "ApprovalRequested"

    step: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    requested_at: AwareDatetime


class StepApproved(DomainEvent):
    """A person approved the step (who: the metadata's actor); it runs next."""

    event_type: ClassVar[str] = "StepApproved"

    step: str = Field(min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    approved_at: AwareDatetime


class StepRejected(DomainEvent):
    """A person rejected the step (who: the metadata's actor): it does not run, and the
    case waits for an operator."""

    event_type: ClassVar[str] = "StepRejected"

    step: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    rejected_at: AwareDatetime
