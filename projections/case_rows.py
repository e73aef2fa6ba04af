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

Each type's handling is looked up once by the event's class (``_RULES``), not matched
against every class in turn: a replay folds the whole log through here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple

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
_AMICABLE = Stage.amicable.value
_CLOSED = Stage.closed.value
_ROUTE_STAGE = {
    EscalationRoute.small_claims: Stage.small_claims.value,
    EscalationRoute.injonction_de_payer: Stage.injonction_de_payer.value,
    EscalationRoute.collection_agency: Stage.agency.value,
    EscalationRoute.enforcement: Stage.enforcement.value,
}
_STAYS_RECEIVABLE = frozenset({CloseReason.handed_over, CloseReason.insolvency_claim_declared})


@dataclass(slots=True)
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
    debtor_id: str | None = None
    """The debtor account (cases opened since the debtor accounts; their name is in the
    vault, not here)."""


class Movement(NamedTuple):
    """A change of a case's open receivable on a value date (a row of balance_movements,
    as the tuple its columns are written from)."""

    position: int
    tenant: str
    case_id: str
    on_date: date
    kind: str
    amount: Decimal


_Effect = Callable[[CaseRow, RecordedEvent, Any, date], "Movement | None"]
"""What an event type does to the row beyond its last action (row, record, its event,
the action date); the ledger entry it makes, if any."""


@dataclass(frozen=True, slots=True)
class _Rule:
    """How the events of one type are handled."""

    on: Callable[[RecordedEvent], date]
    """The event's business date: its last action date."""
    effect: _Effect | None = None


def _recorded_day(record: RecordedEvent) -> date:
    return local_date(record.recorded_at)


def _day_of(field: str) -> Callable[[RecordedEvent], date]:
    """The French calendar day of the event's instant ``field``."""
    moment = attrgetter(f"event.{field}")
    return lambda record: local_date(moment(record))


def _field(name: str) -> Callable[[RecordedEvent], date]:
    """The event's date ``name``."""
    getter: Callable[[RecordedEvent], date] = attrgetter(f"event.{name}")
    return getter


_issued_on: Callable[[RecordedEvent], date | None] = attrgetter("event.issued_on")


def _issued_day(record: RecordedEvent) -> date:
    """A credit note's issue date, else the day it was recorded."""
    return _issued_on(record) or local_date(record.recorded_at)


def _clears_next_action(
    row: CaseRow, record: RecordedEvent, event: DomainEvent, on: date
) -> Movement | None:
    row.next_action_on = None
    return None


def _promise(
    row: CaseRow, record: RecordedEvent, event: PromiseToPayMade, on: date
) -> Movement | None:
    row.next_action_on = event.promised_by + timedelta(days=event.grace_days)
    return None


def _plan(
    row: CaseRow, record: RecordedEvent, event: PaymentPlanAgreed, on: date
) -> Movement | None:
    row.next_action_on = min(i.due_on for i in event.instalments)
    return None


def stage_after(stage: str, event: DomainEvent) -> str:
    """The case's stage once ``event`` is applied to a case at ``stage``. Pure: the list
    row follows it, and so do the ERP webhooks' ``stage.changed`` events.

    A formal notice moves only an amicable case; an escalation, an insolvency or a
    partner's "closed" report never reopens a closed case; a close always closes."""
    if isinstance(event, CaseClosed):
        return _CLOSED
    if stage == _CLOSED:
        return stage
    if isinstance(event, FormalNoticeSent):
        return Stage.formal_notice.value if stage == _AMICABLE else stage
    if isinstance(event, CaseEscalated):
        return _ROUTE_STAGE[event.route]
    if isinstance(event, InsolvencyDetected):
        return Stage.insolvency.value
    if isinstance(event, PartnerReported) and event.status == "closed":
        # The partner is done without collecting all; "uncollectable" closes the case next.
        return Stage.awaiting_next_phase.value
    return stage


STAGE_EVENTS: tuple[type[DomainEvent], ...] = (
    FormalNoticeSent,
    CaseEscalated,
    InsolvencyDetected,
    PartnerReported,
    CaseClosed,
)
"""The event types that can change a case's stage (``stage_after``)."""


def _formal_notice(
    row: CaseRow, record: RecordedEvent, event: FormalNoticeSent, on: date
) -> Movement | None:
    row.stage = stage_after(row.stage, event)
    return None


def _escalated(
    row: CaseRow, record: RecordedEvent, event: CaseEscalated, on: date
) -> Movement | None:
    row.next_action_on = None
    row.stage = stage_after(row.stage, event)
    return None


def _insolvency(
    row: CaseRow, record: RecordedEvent, event: InsolvencyDetected, on: date
) -> Movement | None:
    row.next_action_on = event.claim_deadline
    row.stage = stage_after(row.stage, event)
    return None


def _partner(
    row: CaseRow, record: RecordedEvent, event: PartnerReported, on: date
) -> Movement | None:
    row.stage = stage_after(row.stage, event)
    return None


def _payment(
    row: CaseRow, record: RecordedEvent, event: PaymentRecorded, on: date
) -> Movement | None:
    row.paid += event.amount
    row.balance = event.balance_after
    return _reduce(row, record, on, "payment", event.amount)


def _credit(
    row: CaseRow, record: RecordedEvent, event: CreditNoteIssued, on: date
) -> Movement | None:
    row.credited += event.amount
    row.balance = event.balance_after
    return _reduce(row, record, on, "credit", event.amount)


def _closed(row: CaseRow, record: RecordedEvent, event: CaseClosed, on: date) -> Movement | None:
    row.next_action_on = None
    row.stage = stage_after(row.stage, event)
    row.outcome, row.closed_on, row.balance = event.reason.value, on, event.balance
    if event.reason in _STAYS_RECEIVABLE:
        return None
    return _reduce(row, record, on, f"closed_{event.reason.value}", row.open_balance)


_RULES: dict[type[DomainEvent], _Rule] = {
    PromiseToPayMade: _Rule(_recorded_day, _promise),
    PromiseBroken: _Rule(_recorded_day, _clears_next_action),
    InstalmentMissed: _Rule(_recorded_day, _clears_next_action),
    CasePaused: _Rule(_recorded_day, _clears_next_action),
    CaseResumed: _Rule(_recorded_day),
    CreditNoteIssued: _Rule(_issued_day, _credit),
    PhoneTaskCreated: _Rule(_day_of("created_at")),
    EInvoicingStatusReceived: _Rule(_field("reported_on")),
    PartnerReported: _Rule(_field("reported_on"), _partner),
    ReminderSent: _Rule(_day_of("sent_at")),
    PhoneCallLogged: _Rule(_day_of("called_at")),
    FormalNoticeSent: _Rule(_field("sent_on"), _formal_notice),
    RegisteredLetterPresented: _Rule(_field("status_on")),
    PaymentPlanAgreed: _Rule(_field("agreed_on"), _plan),
    PaymentRecorded: _Rule(_field("paid_on"), _payment),
    DisputeOpened: _Rule(_field("opened_on"), _clears_next_action),
    DisputeResolved: _Rule(_field("resolved_on"), _clears_next_action),
    CaseEscalated: _Rule(_field("escalated_on"), _escalated),
    CaseHandedOver: _Rule(_field("handed_over_on")),
    InsolvencyDetected: _Rule(_field("published_on"), _insolvency),
    ClaimDeclared: _Rule(_field("declared_on"), _clears_next_action),
    CaseClosed: _Rule(_field("closed_on"), _closed),
}
"""Every type an open case's row follows (InvoiceRegistered opens it: ``open_case``); the
types missing here change nothing."""
_RESOLVED: dict[type, _Rule | None] = dict(_RULES)
"""``_RULES`` by exact class, filled in as other classes are met (a subclass is handled
as the class it derives from, None when it derives from none of them)."""


def _rule(kind: type) -> _Rule | None:
    try:
        return _RESOLVED[kind]
    except KeyError:
        found = next((_RULES[base] for base in kind.__mro__ if base in _RULES), None)
        _RESOLVED[kind] = found
        return found


def action_date(record: RecordedEvent) -> date | None:
    """The business date of a handled event; None for the types this projection ignores."""
    if isinstance(record.event, InvoiceRegistered):
        return _recorded_day(record)
    rule = _rule(type(record.event))
    return None if rule is None else rule.on(record)


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
        stage=_AMICABLE,
        registered_position=record.position,
        updated_position=record.position,
        last_action=event.event_type,
        last_action_on=_recorded_day(record),
    )
    entry = (
        record.position,
        row.tenant,
        row.case_id,
        event.issue_date,
        "invoice",
        event.amount_due,
    )
    return row, _movement(Movement, entry)


def apply_event(row: CaseRow, record: RecordedEvent) -> Movement | None:
    """Change ``row`` for one event of its case; return the ledger entry it makes, if any.

    An ignored type changes nothing, nor does the same stream registered twice."""
    event = record.event
    kind = type(event)
    rule = _RESOLVED[kind] if kind in _RESOLVED else _rule(kind)
    if rule is None:
        return None
    on = rule.on(record)
    row.last_action, row.last_action_on = event.event_type, on
    row.updated_position = record.position
    return None if rule.effect is None else rule.effect(row, record, event, on)


def _reduce(
    row: CaseRow, record: RecordedEvent, on: date, kind: str, amount: Decimal
) -> Movement | None:
    # Never below zero: nothing can be collected or credited beyond what is still open.
    still_open = row.open_balance
    applied = still_open if still_open < amount else amount  # min(amount, still_open)
    if applied <= 0:
        return None
    row.open_balance = still_open - applied
    return _movement(Movement, (record.position, row.tenant, row.case_id, on, kind, -applied))


_movement = tuple.__new__
"""``_movement(Movement, (fields...))``: what ``Movement(...)`` does, without its Python
``__new__`` (a replay makes one per payment)."""
