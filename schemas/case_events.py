"""Events that change the course of a case (default-policies.md), as the API accepts them.

Each is sent to the case's workflow as the `apply_event` update (validated first) or the
`record_event` signal. `by` is the actor: the API sets it from the authenticated caller
and refuses a body that sets it (it is not in the OpenAPI schema); workflows and
activities set it themselves.

Every bound here is at least as strict as the domain event each model becomes
(eventstore/events/*.py): a value the API accepts can always be recorded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from schemas.bounds import MAX_NAME, MAX_NOTE, MAX_REFERENCE, ApiModel, BoundedDate
from schemas.money import BoundedAmount
from schemas.policy import Policy
from schemas.write_off import WriteOffEvidence


class _Event(ApiModel):
    by: SkipJsonSchema[str | None] = Field(
        default=None,
        max_length=100,
        description="Who reports it: set by the API from the caller, never by the caller",
    )


class PromiseToPay(_Event):
    type: Literal["promise_to_pay"] = "promise_to_pay"
    promised_on: BoundedDate
    amount: BoundedAmount | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class Instalment(ApiModel):
    due_on: BoundedDate
    amount: BoundedAmount


class PaymentPlanAgreed(_Event):
    type: Literal["payment_plan"] = "payment_plan"
    agreed_on: BoundedDate
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
    reason: str = Field(min_length=1, max_length=MAX_NOTE)


class DisputeResolved(_Event):
    type: Literal["dispute_resolved"] = "dispute_resolved"
    outcome: Literal["upheld", "rejected"]
    credit_note_amount: BoundedAmount | None = Field(
        default=None, description="Upheld in part: the credit note; upheld without it: cancel"
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class CreditNote(_Event):
    type: Literal["credit_note"] = "credit_note"
    amount: BoundedAmount
    reference: str = Field(min_length=1, max_length=MAX_REFERENCE)
    issued_on: BoundedDate


class OperatorPause(_Event):
    type: Literal["pause"] = "pause"
    reason: str = Field(min_length=1, max_length=MAX_NOTE)


class OperatorResume(_Event):
    type: Literal["resume"] = "resume"
    reason: str = Field(default="resumed", min_length=1, max_length=MAX_NOTE)


class InsolvencyPublished(_Event):
    type: Literal["insolvency"] = "insolvency"
    published_on: BoundedDate = Field(
        description="BODACC publication date, between 2000-01-01 and 2100-12-31"
    )
    proceeding: Literal["sauvegarde", "redressement", "liquidation"]
    mandataire: str = Field(min_length=1, max_length=MAX_NAME)
    court: str = Field(
        default="tribunal de la procédure (non précisé)",
        min_length=1,
        max_length=MAX_NAME,
        description="Court that opened the proceeding",
    )


class EInvoicingStatus(_Event):
    type: Literal["einvoicing_status"] = "einvoicing_status"
    code: Literal[200, 206, 207, 208, 209, 210, 211, 212, 213, 220, 224, 225, 226, 227, 228]
    reported_on: BoundedDate
    amount: BoundedAmount | None = Field(default=None, description="For 212 (collected)")
    status_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REFERENCE,
        description="The platform's own status id: a redelivery is a no-op",
    )


class RegisteredLetterStatus(_Event):
    type: Literal["registered_letter_status"] = "registered_letter_status"
    status: Literal["presented", "delivered", "not_collected", "refused", "wrong_address"]
    on: BoundedDate


class RegisteredLetterProblem(_Event):
    """The registered-mail provider will not deliver the formal notice's letter (rejected,
    recipient refused, canceled: the notice was never served, the step must run again) or
    holds it (blocked until the account is funded: it leaves afterwards). Reported by the
    provider's notifications and the API's polling (tracking.py finds it, inbound's
    ``temporal_report`` sends it)."""

    type: Literal["registered_letter_problem"] = "registered_letter_problem"
    anomaly: Literal["rejected", "recipient_rejected", "canceled", "blocked"]
    reason: str = Field(min_length=1, max_length=300, description="What the operator reads")
    detail: str = Field(default="", max_length=MAX_NOTE, description="The provider's words")
    provider_status: str = Field(default="", max_length=40)
    letter_reference: str = Field(
        min_length=1, max_length=100, description="The provider's id of the sending"
    )

    @property
    def final(self) -> bool:
        """The letter will never be delivered (anything but ``blocked``)."""
        return self.anomaly != "blocked"


class PhoneOutcome(_Event):
    # The rules of _details, stated for clients (and generators) in the schema.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"outcome": {"const": "promise"}}},
                    "then": {"required": ["promised_on"]},
                },
                {
                    "if": {"properties": {"outcome": {"const": "dispute"}}},
                    "then": {
                        "required": ["reason"],
                        "properties": {"reason": {"type": "string", "minLength": 1}},
                    },
                },
            ]
        }
    )

    type: Literal["phone_outcome"] = "phone_outcome"
    outcome: Literal["reached", "promise", "dispute", "no_answer"]
    promised_on: BoundedDate | None = None
    reason: str | None = Field(default=None, max_length=MAX_NOTE)

    @model_validator(mode="after")
    def _details(self) -> PhoneOutcome:
        if self.outcome == "promise" and self.promised_on is None:
            raise ValueError("promised_on: required when the outcome is a promise")
        if self.outcome == "dispute" and not self.reason:
            raise ValueError("reason: required when the outcome is a dispute")
        return self


class PartnerReport(_Event):
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"status": {"const": "amount_collected"}}},
            "then": {"required": ["amount"], "properties": {"amount": {"type": "string"}}},
        }
    )

    type: Literal["partner_report"] = "partner_report"
    status: Literal[
        "accepted",
        "in_progress",
        "amount_collected",
        "title_obtained",
        "enforcement_measure",
        "closed",
    ]
    on: BoundedDate
    amount: BoundedAmount | None = None
    result: Literal["uncollectable", "withdrawn"] | None = None
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    report_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REFERENCE,
        description="the partner's own event id: a redelivery is a no-op",
    )

    @model_validator(mode="after")
    def _details(self) -> PartnerReport:
        if self.status == "amount_collected" and self.amount is None:
            raise ValueError("amount: required when an amount was collected")
        return self


class MigratePolicy(_Event):
    """An operator moves a running case to another policy (or a newer version of its own).

    The API fills ``policy`` from the catalog; steps already done keep their place."""

    type: Literal["migrate_policy"] = "migrate_policy"
    policy_id: str = Field(pattern=r"^[a-z0-9-]{1,64}$", max_length=64)
    reason: str = Field(min_length=1, max_length=MAX_NOTE)
    policy: SkipJsonSchema[Policy | None] = Field(
        default=None, description="Set by the API from the catalog, not the caller"
    )


class CloseCase(_Event):
    type: Literal["close"] = "close"
    outcome: Literal["written_off", "handed_over", "cancelled"]
    reason: str = Field(min_length=1, max_length=MAX_NOTE)
    evidence: list[WriteOffEvidence] = Field(
        default_factory=list,
        max_length=20,
        description="For written_off: the documents that make the claim irrecoverable "
        "(GET /v1/cases/{case_id}/write-off reads them for the tax and accounting report)",
    )

    @model_validator(mode="after")
    def _evidence_only_for_write_off(self) -> CloseCase:
        if self.evidence and self.outcome != "written_off":
            raise ValueError("evidence: only a write-off records evidence")
        return self


class RetryStep(_Event):
    """An operator re-runs a step of the case that failed (a letter, an email, a hand-off)."""

    type: Literal["retry_step"] = "retry_step"
    step: str = Field(
        pattern=r"^[a-z0-9_]{1,64}$", max_length=64, description="The failed step's key"
    )
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class ApprovalDecision(_Event):
    """A person approves or rejects a step that requires approval and awaits it (a
    formal notice, a hand-off, a court file): approved, it runs; rejected, it does not,
    and the case waits for an operator (resume asks again; close ends it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"decision": {"const": "reject"}}},
            "then": {
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1}},
            },
        }
    )

    type: Literal["approval"] = "approval"
    step: str = Field(
        pattern=r"^[a-z0-9_]{1,64}$", max_length=64, description="The key of the step awaiting"
    )
    decision: Literal["approve", "reject"]
    reason: str | None = Field(
        default=None, max_length=MAX_NOTE, description="Why; required to reject"
    )

    @model_validator(mode="after")
    def _reason(self) -> ApprovalDecision:
        if self.decision == "reject" and not self.reason:
            raise ValueError("reason: required to reject a step")
        return self


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
    | RegisteredLetterProblem
    | PhoneOutcome
    | PartnerReport
    | MigratePolicy
    | CloseCase
    | RetryStep
    | ApprovalDecision,
    Field(discriminator="type"),
]


class CaseEventEnvelope(BaseModel):
    """The update/signal argument: one event (pydantic needs a model around the union)."""

    event: CaseEvent
