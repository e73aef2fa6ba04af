"""Events that change the course of a case (default-policies.md), as the API accepts them.

Each is sent to the case's workflow as the `apply_event` update (validated first) or the
`record_event` signal. `by` is filled by the API from the caller when not given.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Amount
from schemas.policy import Policy


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str | None = Field(default=None, max_length=100, description="Who reports it")


class PromiseToPay(_Event):
    type: Literal["promise_to_pay"] = "promise_to_pay"
    promised_on: date
    amount: Amount | None = None
    note: str | None = Field(default=None, max_length=500)


class Instalment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date
    amount: Amount


class PaymentPlanAgreed(_Event):
    type: Literal["payment_plan"] = "payment_plan"
    agreed_on: date
    instalments: list[Instalment] = Field(min_length=1, max_length=60)

    @model_validator(mode="after")
    def _ordered(self) -> PaymentPlanAgreed:
        dates = [i.due_on for i in self.instalments]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise ValueError("instalments: due dates must be strictly increasing")
        if dates[0] < self.agreed_on:
            raise ValueError("instalments: the first is due before the plan was agreed")
        return self


class DisputeOpened(_Event):
    type: Literal["dispute_opened"] = "dispute_opened"
    reason: str = Field(min_length=1, max_length=500)


class DisputeResolved(_Event):
    type: Literal["dispute_resolved"] = "dispute_resolved"
    outcome: Literal["upheld", "rejected"]
    credit_note_amount: Amount | None = Field(
        default=None, description="Upheld in part: the credit note; upheld without it: cancel"
    )
    note: str | None = Field(default=None, max_length=500)


class CreditNote(_Event):
    type: Literal["credit_note"] = "credit_note"
    amount: Amount
    reference: str = Field(min_length=1, max_length=100)
    issued_on: date


class OperatorPause(_Event):
    type: Literal["pause"] = "pause"
    reason: str = Field(min_length=1, max_length=500)


class OperatorResume(_Event):
    type: Literal["resume"] = "resume"
    reason: str = Field(default="resumed", max_length=500)


class InsolvencyPublished(_Event):
    type: Literal["insolvency"] = "insolvency"
    published_on: date = Field(description="BODACC publication date")
    proceeding: Literal["sauvegarde", "redressement", "liquidation"]
    mandataire: str = Field(min_length=1, max_length=200)
    court: str = Field(
        default="tribunal de la procédure (non précisé)",
        max_length=200,
        description="Court that opened the proceeding",
    )


class EInvoicingStatus(_Event):
    type: Literal["einvoicing_status"] = "einvoicing_status"
    code: Literal[200, 206, 207, 208, 209, 210, 211, 212, 213, 220, 224, 225, 226, 227, 228]
    reported_on: date
    amount: Amount | None = Field(default=None, description="For 212 (collected)")


class RegisteredLetterStatus(_Event):
    type: Literal["registered_letter_status"] = "registered_letter_status"
    status: Literal["presented", "delivered", "not_collected", "refused", "wrong_address"]
    on: date


class PhoneOutcome(_Event):
    type: Literal["phone_outcome"] = "phone_outcome"
    outcome: Literal["reached", "promise", "dispute", "no_answer"]
    promised_on: date | None = None
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _details(self) -> PhoneOutcome:
        if self.outcome == "promise" and self.promised_on is None:
            raise ValueError("promised_on: required when the outcome is a promise")
        if self.outcome == "dispute" and not self.reason:
            raise ValueError("reason: required when the outcome is a dispute")
        return self


class PartnerReport(_Event):
    type: Literal["partner_report"] = "partner_report"
    status: Literal[
        "accepted",
        "in_progress",
        "amount_collected",
        "title_obtained",
        "enforcement_measure",
        "closed",
    ]
    on: date
    amount: Amount | None = None
    result: Literal["uncollectable", "withdrawn"] | None = None
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _details(self) -> PartnerReport:
        if self.status == "amount_collected" and self.amount is None:
            raise ValueError("amount: required when an amount was collected")
        return self


class MigratePolicy(_Event):
    """An operator moves a running case to another policy (or a newer version of its own).

    The API fills ``policy`` from the catalog; steps already done keep their place."""

    type: Literal["migrate_policy"] = "migrate_policy"
    policy_id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    reason: str = Field(min_length=1, max_length=500)
    policy: Policy | None = Field(default=None, description="Set by the API, not the caller")


class CloseCase(_Event):
    type: Literal["close"] = "close"
    outcome: Literal["written_off", "handed_over", "cancelled"]
    reason: str = Field(min_length=1, max_length=500)


CaseEvent = Annotated[
    PromiseToPay
    | PaymentPlanAgreed
    | DisputeOpened
    | DisputeResolved
    | CreditNote
    | OperatorPause
    | OperatorResume
    | InsolvencyPublished
    | EInvoicingStatus
    | RegisteredLetterStatus
    | PhoneOutcome
    | PartnerReport
    | MigratePolicy
    | CloseCase,
    Field(discriminator="type"),
]


class CaseEventEnvelope(BaseModel):
    """The update/signal argument: one event (pydantic needs a model around the union)."""

    event: CaseEvent
