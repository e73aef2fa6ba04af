"""A collection policy: versioned data that drives a case's timeline."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.invoice import DebtorKind


class Channel(StrEnum):
    email = "email"
    letter = "letter"
    letter_and_email = "letter_and_email"
    registered_letter = "registered_letter"
    phone_task = "phone_task"
    handoff = "handoff"
    court_file = "court_file"
    claim_declaration = "claim_declaration"


class StepKind(StrEnum):
    reminder = "reminder"
    phone_call = "phone_call"
    formal_notice = "formal_notice"
    escalation = "escalation"
    courtesy_notice = "courtesy_notice"
    """A friendly heads-up before the due date (email); skipped once the date has come."""


class PolicyStep(BaseModel):
    """One planned action. `offset` is ISO 8601 (P7D, PT5S) from `anchor`:

    - ``due_date``: the invoice's due date (at the policy's hour);
    - ``case_start``: when the case opened (demo policies);
    - ``formal_notice_deadline``: the first working day after the formal notice's
      deadline, itself counted from the registered letter's first presentation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(
        pattern=r"^[a-z0-9_]{1,40}$",
        description="At most 40 characters: the keys derived from it (a bounce's call, a "
        "failed step's task) must fit the event store's 64",
    )
    label: str = Field(min_length=1, max_length=200)
    kind: StepKind = StepKind.reminder
    channel: Channel
    template: str = Field(description="Template id and version, e.g. reminder_1@1")
    email_template: str | None = Field(
        default=None, description="For letter_and_email: the email's template"
    )
    anchor: Literal["due_date", "case_start", "formal_notice_deadline"] = "due_date"
    offset: timedelta
    min_balance: Decimal | None = Field(
        default=None, description="Skip the step when the balance is below this amount"
    )
    attach_invoice: bool = Field(
        default=False,
        description="Attach the invoice as the ERP sent it (the e-invoice file) to this "
        "step's email",
    )
    requires_approval: bool = Field(
        default=False,
        description="A person must approve the step (POST /v1/cases/{case_id}/approvals) "
        "before it runs: the case waits for the decision when the step comes due",
    )


class EscalationRules(BaseModel):
    """Where a case goes after an unanswered formal notice (default-policies.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    small_claims_ceiling: Decimal = Field(default=Decimal("5000.00"), description="CPCE L125-1")
    above_ceiling: Literal["injonction_de_payer", "agency"] = "injonction_de_payer"


class Policy(BaseModel):
    """A whole timeline. A case keeps the exact (id, version) it started with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    title: str
    debtor_kinds: list[DebtorKind] = Field(
        description="Kinds this policy is the default for; empty for opt-in policies"
    )
    send_hour_utc: int = Field(default=8, ge=0, le=23, description="Hour of day for dated steps")
    min_gap: timedelta = Field(description="Least time between two actions of a case")
    steps: list[PolicyStep] = Field(min_length=1)
    formal_notice_deadline: timedelta = Field(
        default=timedelta(days=8),
        description="Whole days: a CPC 641-642 deadline from first presentation; else raw time",
    )
    contact_policy: str = Field(
        default="fr-contact-standard",
        pattern=r"^[a-z0-9-]{1,64}$",
        description="The contact caps, hours and grouping window of the debtor's "
        "conversation (schemas/contact_policy.py)",
    )
    promise_grace: timedelta = Field(default=timedelta(days=3))
    instalment_grace: timedelta = Field(default=timedelta(days=5))
    escalation: EscalationRules = Field(default_factory=EscalationRules)
    risk_bands: dict[Literal["low", "medium", "high"], str] = Field(
        default_factory=dict,
        description="A firmer or gentler policy by the debtor's risk band at intake "
        "(projections/debtor_risk.py), e.g. {high: fr-b2b-firm}; a debtor with no history "
        "keeps this policy",
    )

    @model_validator(mode="after")
    def _unique_step_keys(self) -> Policy:
        keys = [step.key for step in self.steps]
        if len(keys) != len(set(keys)):
            raise ValueError(f"policy {self.id}: step keys must be unique")
        return self
