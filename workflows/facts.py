"""The domain events a case's workflow records: built from its state, stored by an activity.

Pure functions: the same case state gives the same facts, and each fact's id comes from
the case and its journal index (eventstore.ids.event_id_for), so a retried append never
records a fact twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import eventstore.events as ev
import eventstore.events.operations as ops
from eventstore.ids import event_id_for
from eventstore.records import EventMetadata, NewEvent
from legal import Statement
from schemas.case import ActionRecord, CaseStart, CaseView, Hold, Stage
from schemas.policy import Policy

ROUTES = {
    Stage.small_claims: ev.EscalationRoute.small_claims,
    Stage.injonction_de_payer: ev.EscalationRoute.injonction_de_payer,
    Stage.agency: ev.EscalationRoute.collection_agency,
    Stage.enforcement: ev.EscalationRoute.enforcement,
}


def invoice_registered(start: CaseStart) -> ev.InvoiceRegistered:
    invoice = start.invoice
    return ev.InvoiceRegistered(
        invoice_number=invoice.invoice_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        amount_due=invoice.amount_due,
        debtor_kind=invoice.debtor.kind,
        policy_id=start.policy.id,
        policy_version=start.policy.version,
    )


def reminder_sent(action: ActionRecord, template: str) -> ev.ReminderSent:
    return ev.ReminderSent(
        step=action.step,
        template=template,
        channel=ev.ReminderChannel(action.channel.value),
        message_id=action.reference,
        sent_at=action.done_at,
    )


def email_bounced(action: ActionRecord) -> ops.EmailBounced:
    return ops.EmailBounced(
        step=action.step,
        recipient=action.recipient or "unknown",
        reason=(action.detail or "refused")[:500],
        bounced_at=action.done_at,
    )


def phone_task(action: ActionRecord) -> ops.PhoneTaskCreated:
    return ops.PhoneTaskCreated(
        step=action.step, task_reference=action.reference or action.step, created_at=action.done_at
    )


def formal_notice_sent(
    case: CaseView, action: ActionRecord, statement: Statement | None, policy: Policy
) -> ev.FormalNoticeSent:
    return ev.FormalNoticeSent(
        letter_reference=action.reference or "formal_notice",
        sent_on=action.done_at.date(),
        principal=case.amount_due - case.credited,
        late_penalties=statement.penalties if statement else Decimal("0.00"),
        recovery_indemnity=statement.indemnity if statement else Decimal("0.00"),
        # Whole days for the legal policies; demo policies count seconds (stored as 1 day).
        deadline_days=max(1, policy.formal_notice_deadline.days),
    )


def case_escalated(case: CaseView, claimed: Decimal, on: date) -> ev.CaseEscalated:
    return ev.CaseEscalated(
        route=ROUTES[case.stage], total_claimed=max(claimed, Decimal("0.01")), escalated_on=on
    )


def handed_over(case: CaseView, action: ActionRecord) -> ev.CaseHandedOver:
    party = (
        ev.HandoverParty.collection_agency
        if case.stage is Stage.agency
        else ev.HandoverParty.commissaire_de_justice
    )
    return ev.CaseHandedOver(
        party=party,
        party_name=action.recipient or party.value,
        reference=action.reference,
        handed_over_on=action.done_at.date(),
    )


def claim_declared(case: CaseView, action: ActionRecord) -> ev.ClaimDeclared:
    return ev.ClaimDeclared(
        declared_on=action.done_at.date(),
        amount=case.balance,
        mandataire=case.mandataire or "mandataire judiciaire",
        reference=action.reference,
    )


def prescription_alerted(case: CaseView, on: date) -> ev.PrescriptionAlerted:
    last_day = case.prescription_last_day or on
    # An invoice registered after its claim lapsed gets its alerts on its first day, with
    # nothing left (then closes as prescribed); never a negative count.
    days_left = max(0, (last_day - on).days)
    return ev.PrescriptionAlerted(prescription_date=last_day, days_left=days_left)


def promise_broken(case: CaseView, promise: Hold, grace: timedelta) -> ev.PromiseBroken:
    received = sum(
        (p.amount for p in case.payments if p.recorded_at >= promise.since), Decimal("0.00")
    )
    promised_by = (promise.until - grace) if promise.until else promise.since.date()
    return ev.PromiseBroken(
        promised_by=promised_by,
        amount_promised=promise.amount or case.balance,
        amount_received=received,
    )


def instalment_missed(
    plan_id: str, number: int, due_on: date, amount: Decimal
) -> ev.InstalmentMissed:
    return ev.InstalmentMissed(
        plan_id=plan_id, instalment_number=number, due_on=due_on, amount=amount
    )


def new_events(case: CaseView, workflow_id: str) -> list[NewEvent]:
    """The journal's facts not yet considered for the store, as events to append."""
    batch: list[NewEvent] = []
    for index in range(case.journal_flushed, case.journal_base + len(case.journal)):
        entry = case.journal[index - case.journal_base]
        if entry.fact is None:
            continue
        batch.append(
            NewEvent(
                event_id=event_id_for(case.case_id, f"journal/{index}"),
                event_type=entry.fact["type"],
                schema_version=entry.fact["version"],
                data=entry.fact["data"],
                metadata=EventMetadata(
                    tenant=case.tenant,
                    actor=entry.by or "system",
                    correlation_id=case.case_id,
                    workflow_id=workflow_id,
                ),
            )
        )
    return batch
