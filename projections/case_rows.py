"""How each domain event changes a case's list row and the receivables ledger. Pure.

The ledger (``Movement``) is what makes past dates answerable: the open receivable of a
case on day D is the sum of its movements dated on or before D.

| event               | list row                                  | ledger (value date)        |
|---------------------|-------------------------------------------|----------------------------|
| InvoiceRegistered   | new row, stage amicable                   | + amount_due (issue_date)  |
| PaymentRecorded     | balance = balance_after, paid += amount   | - amount (paid_on)         |
| CreditNoteIssued    | balance = balance_after, credited += amt  | - amount (issued_on)       |
| CaseClosed          | stage closed, outcome, balance            | - what is open (closed_on),|
|                     |                                           |   unless handed over or    |
|                     |                                           |   declared in insolvency   |
| FormalNoticeSent    | stage formal_notice                       |                            |
| CaseEscalated       | stage = the route                         |                            |
| InsolvencyDetected  | stage insolvency, next = claim_deadline   |                            |
| PartnerReported     | stage awaiting_next_phase if "closed"     |                            |
| PromiseToPayMade    | next = promised_by + grace_days           |                            |
| PaymentPlanAgreed   | next = first instalment                   |                            |

A dispute's ``credited_amount`` is the decision, not the booking: the workflow books it
as a CreditNoteIssued (in part) or a cancelling CaseClosed (in full), so it is not
counted here. A case handed over, or whose claim went to the mandataire, leaves
recouvre but is still owed to the creditor: it stays in the receivables.

Every handled event sets the last action (its type) and its date; the next action date
is set by the events that carry one and cleared by those that make it moot. Events of
other types, and events of a case whose invoice was never seen, change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from eventstore.events import (
    CaseClosed,
    CaseEscalated,
    CaseHandedOver,
    ClaimDeclared,
    CloseReason,
    DisputeOpened,
    DisputeResolved,
    DomainEvent,
    EscalationRoute,
    FormalNoticeSent,
    InsolvencyDetected,
    InstalmentMissed,
    InvoiceRegistered,
    PaymentPlanAgreed,
    PaymentRecorded,
    PhoneCallLogged,
    PromiseBroken,
    PromiseToPayMade,
    RegisteredLetterPresented,
    ReminderSent,
)
from eventstore.events.operations import (
    CasePaused,
    CaseResumed,
    CreditNoteIssued,
    EInvoicingStatusReceived,
    PartnerReported,
    PhoneTaskCreated,
)
from eventstore.records import RecordedEvent
from projections.calendar import local_date
from schemas.case import Stage

ZERO = Decimal("0.00")
_ROUTE_STAGE = {
    EscalationRoute.small_claims: Stage.small_claims,
    EscalationRoute.injonction_de_payer: Stage.injonction_de_payer,
    EscalationRoute.collection_agency: Stage.agency,
    EscalationRoute.enforcement: Stage.enforcement,
}
_STAYS_RECEIVABLE = frozenset({CloseReason.handed_over, CloseReason.insolvency_claim_declared})
_CLEARS_NEXT_ACTION = (
    CasePaused,
    PromiseBroken,
    InstalmentMissed,
    DisputeOpened,
    DisputeResolved,
    CaseEscalated,
    ClaimDeclared,
    CaseClosed,
)


@dataclass
class CaseRow:
    """A row of ``case_list``; debtor fields come from ``cases``, never from events."""

    case_id: str
    tenant: str
    invoice_number: str
    currency: str
    issue_date: date
    due_date: date
    amount_due: Decimal
    balance: Decimal
    """What the debtor still owes, as the last event said (kept after a write-off)."""
    open_balance: Decimal
    """What the creditor's books still hold: the sum of the case's ledger movements."""
    paid: Decimal
    credited: Decimal
    stage: str
    registered_position: int
    updated_position: int
    outcome: str | None = None
    closed_on: date | None = None
    last_action: str | None = None
    last_action_on: date | None = None
    next_action_on: date | None = None
    debtor_name: str | None = None
    debtor_siren: str | None = None


@dataclass(frozen=True, slots=True)
class Movement:
    """A change of a case's open receivable on a value date (a row of balance_movements)."""

    position: int
    tenant: str
    case_id: str
    on_date: date
    kind: str
    amount: Decimal


def action_date(record: RecordedEvent) -> date | None:
    """The business date of a handled event; None for the types this projection ignores."""
    event = record.event
    match event:
        case (
            InvoiceRegistered()
            | PromiseToPayMade()
            | PromiseBroken()
            | InstalmentMissed()
            | CasePaused()
            | CaseResumed()
        ):
            return local_date(record.recorded_at)
        case CreditNoteIssued():
            return event.issued_on or local_date(record.recorded_at)
        case PhoneTaskCreated():
            return local_date(event.created_at)
        case EInvoicingStatusReceived() | PartnerReported():
            return event.reported_on
        case ReminderSent():
            return local_date(event.sent_at)
        case PhoneCallLogged():
            return local_date(event.called_at)
        case FormalNoticeSent():
            return event.sent_on
        case RegisteredLetterPresented():
            return event.status_on
        case PaymentPlanAgreed():
            return event.agreed_on
        case PaymentRecorded():
            return event.paid_on
        case DisputeOpened():
            return event.opened_on
        case DisputeResolved():
            return event.resolved_on
        case CaseEscalated():
            return event.escalated_on
        case CaseHandedOver():
            return event.handed_over_on
        case InsolvencyDetected():
            return event.published_on
        case ClaimDeclared():
            return event.declared_on
        case CaseClosed():
            return event.closed_on
    return None


def open_case(record: RecordedEvent, event: InvoiceRegistered) -> tuple[CaseRow, Movement]:
    """The row and the first ledger entry of a newly registered invoice."""
    row = CaseRow(
        case_id=record.stream_id,
        tenant=record.metadata.tenant,
        invoice_number=event.invoice_number,
        currency=event.currency,
        issue_date=event.issue_date,
        due_date=event.due_date,
        amount_due=event.amount_due,
        balance=event.amount_due,
        open_balance=event.amount_due,
        paid=ZERO,
        credited=ZERO,
        stage=Stage.amicable.value,
        registered_position=record.position,
        updated_position=record.position,
        last_action=event.event_type,
        last_action_on=local_date(record.recorded_at),
    )
    return row, _movement(row, record, event.issue_date, "invoice", event.amount_due)


def apply_event(row: CaseRow, record: RecordedEvent) -> Movement | None:
    """Change ``row`` for one event of its case; return the ledger entry it makes, if any."""
    event = record.event
    on = action_date(record)
    if on is None or isinstance(event, InvoiceRegistered):
        return None  # an ignored type, or the same stream registered twice
    row.last_action, row.last_action_on = event.event_type, on
    row.updated_position = record.position
    _set_next_action(row, event)
    _set_stage(row, event)
    match event:
        case PaymentRecorded():
            row.paid += event.amount
            row.balance = event.balance_after
            return _reduce(row, record, on, "payment", event.amount)
        case CreditNoteIssued():
            row.credited += event.amount
            row.balance = event.balance_after
            return _reduce(row, record, on, "credit", event.amount)
        case CaseClosed():
            row.outcome, row.closed_on, row.balance = event.reason.value, on, event.balance
            if event.reason in _STAYS_RECEIVABLE:
                return None
            return _reduce(row, record, on, f"closed_{event.reason.value}", row.open_balance)
    return None


def _reduce(
    row: CaseRow, record: RecordedEvent, on: date, kind: str, amount: Decimal
) -> Movement | None:
    # Never below zero: nothing can be collected or credited beyond what is still open.
    applied = min(amount, row.open_balance)
    if applied <= 0:
        return None
    row.open_balance -= applied
    return _movement(row, record, on, kind, -applied)


def _movement(
    row: CaseRow, record: RecordedEvent, on: date, kind: str, amount: Decimal
) -> Movement:
    return Movement(record.position, row.tenant, row.case_id, on, kind, amount)


def _set_stage(row: CaseRow, event: DomainEvent) -> None:
    if row.stage == Stage.closed.value:
        return
    if isinstance(event, FormalNoticeSent) and row.stage == Stage.amicable.value:
        row.stage = Stage.formal_notice.value
    elif isinstance(event, CaseEscalated):
        row.stage = _ROUTE_STAGE[event.route].value
    elif isinstance(event, InsolvencyDetected):
        row.stage = Stage.insolvency.value
    elif isinstance(event, PartnerReported) and event.status == "closed":
        # The partner is done without collecting all; "uncollectable" closes the case next.
        row.stage = Stage.awaiting_next_phase.value
    elif isinstance(event, CaseClosed):
        row.stage = Stage.closed.value


def _set_next_action(row: CaseRow, event: DomainEvent) -> None:
    if isinstance(event, PromiseToPayMade):
        row.next_action_on = event.promised_by + timedelta(days=event.grace_days)
    elif isinstance(event, PaymentPlanAgreed):
        row.next_action_on = min(i.due_on for i in event.instalments)
    elif isinstance(event, InsolvencyDetected):
        row.next_action_on = event.claim_deadline
    elif isinstance(event, _CLEARS_NEXT_ACTION):
        row.next_action_on = None
