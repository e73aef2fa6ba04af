"""What a case is at any moment: the workflow's state and the API's view of it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.invoice import InvoiceIn
from schemas.money import Amount, Balance
from schemas.policy import Channel, Policy


class Stage(StrEnum):
    amicable = "amicable"
    """Reminders are planned."""
    awaiting_next_phase = "awaiting_next_phase"
    """The policy's steps are done; the case waits for payment or the next phase."""
    closed = "closed"


class Outcome(StrEnum):
    paid = "paid"


class PaymentIn(BaseModel):
    """Body of POST /v1/cases/{case_id}/payments."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"amount": "200.00", "paid_on": "2026-11-02", "reference": "VIR-123"}]
        },
    )

    amount: Amount
    paid_on: date
    reference: str = Field(min_length=1, max_length=100, description="Bank or ERP reference")


class PaymentRecord(BaseModel):
    amount: Balance
    paid_on: date
    reference: str
    recorded_at: datetime


class ActionRecord(BaseModel):
    """An action the case took: what, when, through which channel, with what result."""

    step: str
    label: str
    channel: Channel
    done_at: datetime
    status: str = Field(description="sent | failed")
    recipient: str | None = None
    idempotency_key: str
    reference: str | None = Field(default=None, description="Message-ID or provider reference")
    detail: str | None = None


class PlannedAction(BaseModel):
    step: str
    label: str
    channel: Channel
    planned_at: datetime


class CaseStart(BaseModel):
    """Workflow input: the invoice, the exact policy, and state carried over on continue-as-new."""

    case_id: str
    tenant: str
    invoice: InvoiceIn
    policy: Policy
    opened_at: datetime
    carried: CaseView | None = None


class CaseView(BaseModel):
    """The live state of a case, as the workflow holds it and the API returns it."""

    case_id: str
    tenant: str
    invoice_number: str
    currency: str
    amount_due: Balance
    balance: Balance
    due_date: date
    debtor_name: str
    policy_id: str
    policy_version: int
    stage: Stage
    outcome: Outcome | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    steps_done: int = 0
    actions: list[ActionRecord] = Field(default_factory=list)
    payments: list[PaymentRecord] = Field(default_factory=list)
    next_action: PlannedAction | None = None

    @classmethod
    def opened(cls, start: CaseStart) -> CaseView:
        """The state of a case just opened from its invoice."""
        invoice = start.invoice
        return cls(
            case_id=start.case_id,
            tenant=start.tenant,
            invoice_number=invoice.invoice_number,
            currency=invoice.currency,
            amount_due=invoice.amount_due,
            balance=invoice.amount_due,
            due_date=invoice.due_date,
            debtor_name=invoice.debtor.name,
            policy_id=start.policy.id,
            policy_version=start.policy.version,
            stage=Stage.amicable,
            opened_at=start.opened_at,
        )

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0.00"))


class CaseCreated(BaseModel):
    case_id: str
    workflow_id: str
    policy_id: str
    policy_version: int
