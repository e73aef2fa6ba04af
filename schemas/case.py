"""What a case is at any moment: the workflow's state and the API's view of it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from legal.rates import RateTable
from schemas.bounds import ApiModel, BoundedDate
from schemas.debtor import CaseInvoice, DebtorRef
from schemas.money import Balance, BoundedAmount
from schemas.policy import Channel, Policy
from schemas.write_off import WriteOffEvidence


class Stage(StrEnum):
    amicable = "amicable"
    """Reminders, the call and the last letter."""
    formal_notice = "formal_notice"
    """The mise en demeure is out; its deadline runs from first presentation."""
    small_claims = "small_claims"
    injonction_de_payer = "injonction_de_payer"
    agency = "agency"
    enforcement = "enforcement"
    insolvency = "insolvency"
    awaiting_next_phase = "awaiting_next_phase"
    """The policy's steps are done; the case waits for payment or a partner's report."""
    closed = "closed"


class Outcome(StrEnum):
    paid = "paid"
    cancelled = "cancelled"
    written_off = "written_off"
    prescribed = "prescribed"
    insolvency_claim_declared = "insolvency_claim_declared"
    handed_over = "handed_over"


class HoldKind(StrEnum):
    promise = "promise"
    payment_plan = "payment_plan"
    dispute = "dispute"
    operator = "operator"
    insolvency = "insolvency"
    factored = "factored"
    awaiting_funds = "awaiting_funds"
    blocked = "blocked"
    """A step failed for good; ``ref`` names it. Lifted by an operator's retry."""
    approval = "approval"
    """A step that requires approval came due; ``ref`` names it. Lifted by the decision."""


class Hold(BaseModel):
    """Why the timeline is suspended, since when, by whom, and until when if known."""

    kind: HoldKind
    since: datetime
    reason: str
    by: str | None = None
    until: date | None = None
    amount: Balance | None = None
    ref: str | None = None
    """The promise's date, or the dispute's id, as the event store knows it."""


class ApprovalRecord(BaseModel):
    """A person's decision on a step that requires approval: who, when, why."""

    step: str
    decision: Literal["approve", "reject"]
    by: str | None = None
    at: datetime
    reason: str | None = None


class PlanState(BaseModel):
    plan_id: str = "plan-1"
    agreed_on: date
    instalments: list[tuple[date, Balance]]
    checked: int = 0
    """How many instalments were checked on time."""
    paid_before: Balance = Decimal("0.00")
    """Total paid when the plan was agreed; instalments count what came after."""


class FormalNoticeState(BaseModel):
    sent_at: datetime
    sent_on: date
    letter_reference: str | None = None
    first_presented_on: date | None = None
    deadline: date | None = None
    """Last day of the debtor's deadline (CPC 641-642, moved past non-working days)."""
    escalate_from: datetime | None = None
    statuses: list[tuple[str, date]] = Field(default_factory=list)
    undelivered: str | None = None
    """The provider's final anomaly (rejected, recipient_rejected, canceled): this letter
    never left, the notice was not served, and the step runs again once retried."""


class LetterProblemState(BaseModel):
    """A registered letter the provider will not deliver (``final``) or holds."""

    letter_reference: str
    anomaly: str
    final: bool
    reason: str
    detail: str = ""
    reported_at: datetime


class JournalEntry(BaseModel):
    """A fact in the case's life, for operators and auditors.

    ``fact`` is the same fact as a domain event (type, schema version, data), which the
    workflow appends to the event store; entries without one are operational notes.
    """

    at: datetime
    type: str
    by: str | None = None
    detail: str
    fact: dict[str, Any] | None = None


class PaymentIn(ApiModel):
    """Body of POST /v1/cases/{case_id}/payments."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"amount": "200.00", "paid_on": "2026-11-02", "reference": "VIR-123"}]
        },
    )

    amount: BoundedAmount
    paid_on: BoundedDate
    reference: str = Field(min_length=1, max_length=100, description="Bank or ERP reference")
    by: SkipJsonSchema[str | None] = Field(
        default=None, max_length=100, description="Set by the API from the caller's key"
    )


class PaymentRecord(BaseModel):
    amount: Balance
    paid_on: date
    reference: str
    recorded_at: datetime
    by: str | None = None


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
    channel: Channel | None = None
    planned_at: datetime | None = None
    why: str = ""


class CaseStart(BaseModel):
    """Workflow input: the invoice, the exact policy, and state carried over on continue-as-new."""

    case_id: str
    tenant: str
    invoice: CaseInvoice
    """The invoice with its debtor as a ``DebtorRef`` (the whole ``Debtor`` in cases opened
    before the debtor accounts)."""
    policy: Policy
    opened_at: datetime
    rates: RateTable | None = None
    """The dated rate table in force when the case opened (legal/data/rates.json)."""
    creditor_name: str = ""
    creditor_address: str = ""
    payment_instructions: str = ""
    policy_chosen_by: str | None = None
    """Why ``policy`` runs rather than the one asked for (its risk band's, at intake)."""
    activity_timeout_s: int = Field(default=60, ge=1, le=3600)
    """How long one attempt of an outside action may take before it is retried elsewhere
    (a worker that died mid-activity is noticed after this long)."""
    carried: CaseView | None = None
    continue_as_new_after: int | None = Field(default=None, ge=50)
    """Continue as new once the run's history has this many events (tests force the path
    with it; production waits for Temporal's suggestion)."""


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
    debtor_kind: str = "business"
    postal_code: str = ""
    holds: list[Hold] = Field(default_factory=list)
    plan: PlanState | None = None
    formal_notice: FormalNoticeState | None = None
    credited: Balance = Decimal("0.00")
    prescription_last_day: date | None = None
    after_title_rules: bool = False
    """Cases opened since patch after-title-v1: a court claim suspends prescription until
    its proceeding ends (C. civ. 2242) and a title's 10 years replace it (CPCE L111-4)."""
    court_claim_on: date | None = None
    """The day the court claim (the injonction de payer request) was filed."""
    court_claim_ended_on: date | None = None
    """The day its proceeding ended without a title (withdrawn, rejected)."""
    title_on: date | None = None
    """The day an enforceable title was obtained: 10 years to enforce it (CPCE L111-4)."""
    written_requests: list[date] = Field(default_factory=list)
    """Posted written payment requests to a public debtor (the quadriennale's interruptions,
    loi 68-1250 art. 2; they do not interrupt the ordinary periods)."""
    prescription_rule: str | None = None
    """"quadriennale" for a public-law debtor (loi 68-1250: 4 years from 1 January after
    the due date, restarted by each written payment request); None: the ordinary rules."""
    prescription_interruptions: list[date] = Field(default_factory=list)
    prescription_alerts_sent: list[date] = Field(default_factory=list)
    claim_declaration_deadline: date | None = None
    mandataire: str | None = None
    insolvency_published_on: date | None = None
    journal: list[JournalEntry] = Field(default_factory=list)
    rates_version: str | None = None
    events_appended: int = 0
    """How many journal facts are in the event store (the stream's version)."""
    journal_flushed: int = 0
    """Journal entries already considered for the event store (an absolute index)."""
    journal_base: int = 0
    """Absolute index of ``journal[0]``: continue-as-new carries only the recent journal
    (the event store keeps every fact), so history stays bounded over years."""
    facts_trimmed: int = 0
    """Facts in the journal entries left behind by continue-as-new."""
    letter_problems: list[LetterProblemState] = Field(default_factory=list)
    """What the registered-mail provider reported it will not deliver (or holds), newest
    last: the operator's task reads the reason from here."""
    complaint_refused: bool = False
    """A dispute was resolved as rejected: consumer letters then name the consumer mediator
    (C. consom. L616-1, L616-2)."""
    write_off_evidence: list[WriteOffEvidence] = Field(default_factory=list)
    """What the write-off recorded as making the claim irrecoverable (CloseCase.evidence)."""
    follow_ups: list[str] = Field(default_factory=list)
    """Actions an event asked for and the timeline has not run yet (claim declaration,
    enforcement hand-off): carried over continue-as-new."""
    seen_messages: list[str] = Field(default_factory=list)
    """Senders' ids of reports already applied (partner event ids, e-invoicing status ids):
    a redelivery changes nothing."""
    view_revision: int = 0
    """How many times the workflow has published this view to the read model (table
    ``case_views``); a late retry of an older publication never overwrites a newer one."""
    debtor_id: str | None = None
    """The debtor (GET /v1/debtors/{debtor_id}); None for cases opened before the debtor
    accounts. ``debtor_name`` is then empty in the workflow: reads fill it in from the
    debtor's record."""
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    """Decisions on the steps that require approval, oldest first (each request is an
    ``approval`` hold; each decision lifts it and is kept here)."""

    @classmethod
    def opened(cls, start: CaseStart) -> CaseView:
        """The state of a case just opened from its invoice."""
        invoice = start.invoice
        debtor = invoice.debtor
        return cls(
            case_id=start.case_id,
            tenant=start.tenant,
            invoice_number=invoice.invoice_number,
            currency=invoice.currency,
            amount_due=invoice.amount_due,
            balance=invoice.amount_due,
            due_date=invoice.due_date,
            debtor_name="" if isinstance(debtor, DebtorRef) else debtor.name,
            debtor_id=invoice.debtor_id,
            policy_id=start.policy.id,
            policy_version=start.policy.version,
            stage=Stage.amicable,
            opened_at=start.opened_at,
            debtor_kind=debtor.kind.value,
            postal_code=(
                debtor.postal_code if isinstance(debtor, DebtorRef) else debtor.address.postal_code
            ),
            rates_version=start.rates.version if start.rates is not None else None,
        )

    @property
    def position(self) -> int:
        """The case's journal position: how many entries it has journaled (continue-as-new
        included). Every accepted write journals one, so a write's answer carries it and a
        read can ask for a view that reflects at least that position (read-your-writes)."""
        return self.journal_base + len(self.journal)

    @property
    def pending_approvals(self) -> list[str]:
        """The steps waiting for a person's approval (at most one: the timeline's next)."""
        return [h.ref or "" for h in self.holds if h.kind is HoldKind.approval]

    @property
    def facts_journaled(self) -> int:
        """How many facts the case has recorded; once flushed, the stream's version."""
        return self.facts_trimmed + sum(1 for entry in self.journal if entry.fact is not None)

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0.00"))


class CaseCreated(BaseModel):
    case_id: str
    workflow_id: str
    policy_id: str
    policy_version: int
    position: int = Field(
        default=1,
        description="The journal position of the registration (InvoiceRegistered): pass it "
        "as `after_position` to GET /v1/cases/{case_id} to read the case once its workflow "
        "has recorded it",
    )
