"""How each event changes a case: pure functions over the case state.

The workflow calls them from its signal and update handlers; the update's
validator calls ``check_event`` first, so a refused event never reaches history.
Articles cited are those of ../shared/domain/french-collection-law.md.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

import eventstore.events as ev
import eventstore.events.operations as ops
from eventstore.events.base import DomainEvent
from legal import add_months
from schemas.case import (
    ApprovalRecord,
    CaseView,
    FormalNoticeState,
    Hold,
    HoldKind,
    JournalEntry,
    LetterProblemState,
    Outcome,
    PaymentIn,
    PaymentRecord,
    PlanState,
    Stage,
)
from schemas.case_events import (
    ApprovalDecision,
    CaseEvent,
    CloseCase,
    CreditNote,
    DisputeOpened,
    DisputeResolved,
    EInvoicingStatus,
    InsolvencyPublished,
    MigratePolicy,
    OperatorPause,
    OperatorResume,
    PartnerReport,
    PaymentPlanAgreed,
    PhoneOutcome,
    PromiseToPay,
    RegisteredLetterProblem,
    RegisteredLetterStatus,
    RetryStep,
)
from schemas.policy import Policy, PolicyStep, StepKind
from workflows.claim import prescription_last_day
from workflows.einvoicing import EInvoicingEffect, einvoicing_effect
from workflows.payment_rules import is_duplicate

PROCEEDINGS = {
    "sauvegarde": ev.ProceedingKind.sauvegarde,
    "redressement": ev.ProceedingKind.redressement_judiciaire,
    "liquidation": ev.ProceedingKind.liquidation_judiciaire,
}
CALL_OUTCOMES = {
    "reached": ev.CallOutcome.other,
    "promise": ev.CallOutcome.promise_to_pay,
    "dispute": ev.CallOutcome.dispute,
    "no_answer": ev.CallOutcome.no_answer,
}
FOLLOW_UP_DECLARE_CLAIM = "declare_claim"
FOLLOW_UP_ENFORCEMENT = "enforcement_handoff"
FOLLOW_UP_LETTER_PROBLEM = "registered_letter_problem:"
"""Followed by the index in ``case.letter_problems`` of the problem to make a task of."""
ESCALATED = {Stage.small_claims, Stage.injonction_de_payer, Stage.agency, Stage.enforcement}
PER_STEP_HOLDS = {HoldKind.blocked, HoldKind.approval}
"""Hold kinds kept one per step (``ref``), not one per case."""


class EventRejected(ValueError):
    """An event that cannot apply to the case as it stands; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def journal(
    case: CaseView,
    now: datetime,
    kind: str,
    detail: str,
    by: str | None = None,
    fact: DomainEvent | None = None,
) -> None:
    """Note a fact; with ``fact``, the same fact goes to the event store (see the workflow)."""
    stored = None
    if fact is not None:
        stored = {
            "type": fact.event_type,
            "version": fact.schema_version,
            "data": fact.model_dump(mode="json"),
        }
    case.journal.append(JournalEntry(at=now, type=kind, by=by, detail=detail, fact=stored))


def has_hold(case: CaseView, kind: HoldKind) -> bool:
    return any(h.kind is kind for h in case.holds)


def put_hold(case: CaseView, hold: Hold) -> None:
    """One hold per kind; ``blocked`` and ``approval`` holds are one per step (their
    ``ref``)."""
    case.holds = [h for h in case.holds if not _same_hold(h, hold.kind, hold.ref)] + [hold]


def lift_hold(case: CaseView, kind: HoldKind, ref: str | None = None) -> None:
    case.holds = [h for h in case.holds if not _same_hold(h, kind, ref)]


def _same_hold(hold: Hold, kind: HoldKind, ref: str | None) -> bool:
    if hold.kind is not kind:
        return False
    return kind not in PER_STEP_HOLDS or ref is None or hold.ref == ref


def blocked_steps(case: CaseView) -> list[str]:
    """The steps that failed for good and wait for an operator's retry."""
    return [h.ref or "" for h in case.holds if h.kind is HoldKind.blocked]


def block_step(case: CaseView, step: str, channel: str, error: str, now: datetime) -> None:
    """A step failed for good: the timeline stops there (C. civ. 1353: the case may only
    say what was done), with the reason, until an operator retries it."""
    reason = f"{step} failed: {error}"[:500]
    put_hold(case, Hold(kind=HoldKind.blocked, since=now, reason=reason, ref=step))
    fact = ops.StepFailed(step=step[:64], channel=channel[:40], error=error[:500], failed_at=now)
    journal(case, now, "StepFailed", reason, fact=fact)


def step_approved(case: CaseView, step: str) -> bool:
    """The last decision on ``step`` approved it (a rejected step asks again)."""
    decisions = [a.decision for a in case.approvals if a.step == step]
    return bool(decisions) and decisions[-1] == "approve"


def request_approval(case: CaseView, step: PolicyStep, now: datetime) -> None:
    """``step`` came due and requires a person's approval it has not had: the timeline
    waits for the decision, and the step does not run before it."""
    reason = f"awaiting approval of {step.label}"[:500]
    put_hold(case, Hold(kind=HoldKind.approval, since=now, reason=reason, ref=step.key))
    fact = ops.ApprovalRequested(step=step.key, label=step.label, requested_at=now)
    journal(case, now, "ApprovalRequested", f"{step.key}: {reason}", fact=fact)


def decide_approval(case: CaseView, event: ApprovalDecision, policy: Policy, now: datetime) -> None:
    """Approve: the step runs at the next wake (its time has come). Reject: it does not
    run, and an operator hold keeps the case waiting (resume asks for approval again when
    the timeline reaches the step; close ends the case)."""
    by = event.by
    lift_hold(case, HoldKind.approval, event.step)
    case.approvals.append(
        ApprovalRecord(step=event.step, decision=event.decision, by=by, at=now, reason=event.reason)
    )
    if event.decision == "approve":
        approved = ops.StepApproved(step=event.step, reason=event.reason, approved_at=now)
        detail = f"{event.step}: {event.reason or 'approved'}"
        journal(case, now, "StepApproved", detail, by, approved)
        return
    reason = event.reason or "rejected"
    rejected = ops.StepRejected(step=event.step, reason=reason, rejected_at=now)
    journal(case, now, "StepRejected", f"{event.step}: {reason}", by, rejected)
    label = next((s.label for s in policy.steps if s.key == event.step), event.step)
    why = f"{label} rejected: {reason}"[:500]
    put_hold(case, Hold(kind=HoldKind.operator, since=now, reason=why, by=by, ref=event.step))


def _sender_reference(prefix: str, sender_id: str) -> str:
    """The payment reference of a sender's report: its id, or a digest of a long one (a
    payment reference holds 100 characters)."""
    reference = f"{prefix}-{sender_id}"
    if len(reference) <= 100:
        return reference
    return f"{prefix}-sha256-{hashlib.sha256(sender_id.encode()).hexdigest()}"


def message_seen(case: CaseView, sender_id: str | None) -> bool:
    """A report the sender already delivered (its own id was applied before)."""
    return sender_id is not None and sender_id in case.seen_messages


def close(
    case: CaseView, outcome: Outcome, now: datetime, detail: str, by: str | None = None
) -> None:
    case.stage, case.outcome, case.closed_at, case.next_action = Stage.closed, outcome, now, None
    case.holds = []
    fact = ev.CaseClosed(
        reason=ev.CloseReason(outcome.value), balance=case.balance, closed_on=now.date()
    )
    journal(case, now, "CaseClosed", f"{outcome.value}: {detail}", by, fact)


def interrupt_prescription(case: CaseView, day: date) -> None:
    """Record an act that restarts prescription (C. civ. 2240, 2241, 2244)."""
    if day not in case.prescription_interruptions:
        case.prescription_interruptions.append(day)
        case.prescription_last_day = prescription_last_day(case)


def apply_payment(case: CaseView, payment: PaymentIn, now: datetime) -> bool:
    """Record a payment; a partial one restarts prescription (C. civ. 2240); nil closes.
    Returns False when nothing changed (a retried payment, or a closed case)."""
    if case.stage is Stage.closed or is_duplicate(case, payment):
        return False
    applied = min(payment.amount, case.balance)
    if payment.amount > applied:
        excess = payment.amount - applied
        journal(case, now, "Overpayment", f"{excess} received beyond the balance: to refund")
    case.payments.append(
        PaymentRecord(
            amount=applied,
            paid_on=payment.paid_on,
            reference=payment.reference,
            recorded_at=now,
            by=payment.by,
        )
    )
    case.balance -= applied
    fact = ev.PaymentRecorded(
        amount=applied,
        paid_on=payment.paid_on,
        reference=payment.reference,
        balance_after=case.balance,
    )
    detail = f"{applied} paid on {payment.paid_on} ({payment.reference})"
    journal(case, now, "PaymentRecorded", detail, payment.by, fact)
    lift_hold(case, HoldKind.awaiting_funds)
    if case.balance == 0:
        close(case, Outcome.paid, now, "balance settled")
    else:
        interrupt_prescription(case, payment.paid_on)
    return True


def _credit(
    case: CaseView, amount: Decimal, reference: str, now: datetime, issued_on: date | None = None
) -> None:
    applied = min(amount, case.balance)
    case.credited += applied
    case.balance -= applied
    fact = ops.CreditNoteIssued(
        amount=applied,
        reference=reference,
        balance_after=case.balance,
        issued_on=issued_on or now.date(),
    )
    journal(case, now, "CreditNoteIssued", f"{applied} credited ({reference})", fact=fact)
    if case.balance == 0:
        close(case, Outcome.cancelled, now, "fully credited")


def sender_id(event: CaseEvent) -> str | None:
    """The sender's own id of a report, namespaced by kind (None: the event has none)."""
    if isinstance(event, PartnerReport) and event.report_id:
        return f"partner/{event.report_id}"
    if isinstance(event, EInvoicingStatus) and event.status_id:
        return f"einvoicing/{event.status_id}"
    return None


def check_event(case: CaseView, event: CaseEvent) -> None:
    """Raise EventRejected when ``event`` cannot apply to ``case`` now."""
    if case.stage is Stage.closed:
        raise EventRejected("type", f"the case is closed ({case.outcome})")
    if isinstance(event, RetryStep):
        blocked = blocked_steps(case)
        if not blocked:
            raise EventRejected("type", "no step has failed on this case")
        if event.step not in blocked:
            raise EventRejected("step", f"the failed step is {', '.join(blocked)}")
    if isinstance(event, ApprovalDecision) and event.step not in case.pending_approvals:
        pending = case.pending_approvals
        if not pending:
            raise EventRejected("type", "no step awaits approval on this case")
        raise EventRejected(
            "type", f"{event.step} does not await approval; {', '.join(pending)} does"
        )
    if isinstance(event, OperatorResume) and not has_hold(case, HoldKind.operator):
        raise EventRejected("type", "the case is not paused by an operator")
    if isinstance(event, DisputeOpened) and has_hold(case, HoldKind.dispute):
        raise EventRejected("type", "a dispute is already open")
    if isinstance(event, DisputeResolved) and not has_hold(case, HoldKind.dispute):
        raise EventRejected("type", "no dispute is open")
    # Money received (partner collection, e-invoicing 212) is never refused: it is applied
    # up to the balance and any excess is journaled. Credits beyond the balance are errors.
    if isinstance(event, CreditNote | DisputeResolved):
        amount = getattr(event, "amount", None) or getattr(event, "credit_note_amount", None)
        if amount is not None and amount > case.balance:
            field = "credit_note_amount" if isinstance(event, DisputeResolved) else "amount"
            raise EventRejected(field, f"{amount} exceeds the balance of {case.balance}")
    if isinstance(event, PaymentPlanAgreed):
        total = sum((i.amount for i in event.instalments), Decimal("0"))
        if total != case.balance:
            raise EventRejected("instalments", f"they total {total}, the balance is {case.balance}")
    if isinstance(event, RegisteredLetterStatus | RegisteredLetterProblem) and (
        case.formal_notice is None
    ):
        raise EventRejected("type", "no registered letter has been sent on this case")
    notice = case.formal_notice
    if isinstance(event, RegisteredLetterStatus) and notice and notice.undelivered:
        raise EventRejected(
            "type", f"the registered letter was not delivered ({notice.undelivered})"
        )
    if isinstance(event, PartnerReport) and case.stage not in ESCALATED:
        raise EventRejected("type", "the case has not been handed to a partner")
    if isinstance(event, MigratePolicy):
        if event.policy is None:
            raise EventRejected("policy_id", "the policy was not resolved by the API")
        current = (case.policy_id, case.policy_version)
        if (event.policy.id, event.policy.version) == current:
            raise EventRejected("type", f"the case already runs {current[0]} v{current[1]}")
    if isinstance(event, InsolvencyPublished) and has_hold(case, HoldKind.insolvency):
        raise EventRejected("type", "insolvency is already recorded")


def apply_event(case: CaseView, event: CaseEvent, policy: Policy, now: datetime) -> list[str]:
    """Change the case; return the follow-up actions the workflow must run."""
    by = event.by
    seen = sender_id(event)
    if seen is not None:
        case.seen_messages.append(seen)
    if isinstance(event, RetryStep):
        lift_hold(case, HoldKind.blocked, event.step)
        retried = ops.StepRetried(step=event.step, note=event.note)
        journal(case, now, "StepRetried", f"{event.step}: {event.note or 'retry'}", by, retried)
    elif isinstance(event, ApprovalDecision):
        decide_approval(case, event, policy, now)
    elif isinstance(event, PromiseToPay):
        until = event.promised_on + policy.promise_grace
        reason = f"promise to pay by {event.promised_on}" + (
            f" ({event.note})" if event.note else ""
        )
        amount = event.amount or case.balance
        put_hold(
            case,
            Hold(
                kind=HoldKind.promise, since=now, reason=reason, by=by, until=until, amount=amount
            ),
        )
        promise = ev.PromiseToPayMade(
            amount=amount, promised_by=event.promised_on, grace_days=policy.promise_grace.days
        )
        journal(case, now, "PromiseToPayMade", reason, by, promise)
    elif isinstance(event, PaymentPlanAgreed):
        plan_id = f"plan-{sum(1 for j in case.journal if j.type == 'PaymentPlanAgreed') + 1}"
        case.plan = PlanState(
            plan_id=plan_id,
            agreed_on=event.agreed_on,
            instalments=[(i.due_on, i.amount) for i in event.instalments],
            paid_before=case.paid_total,
        )
        put_hold(
            case,
            Hold(
                kind=HoldKind.payment_plan,
                since=now,
                by=by,
                reason=f"payment plan of {len(event.instalments)} instalments",
            ),
        )
        agreed = ev.PaymentPlanAgreed(
            plan_id=plan_id,
            agreed_on=event.agreed_on,
            instalments=tuple(
                ev.Instalment(due_on=i.due_on, amount=i.amount) for i in event.instalments
            ),
        )
        detail = f"{len(event.instalments)} instalments"
        journal(case, now, "PaymentPlanAgreed", detail, by, agreed)
        interrupt_prescription(case, event.agreed_on)
    elif isinstance(event, DisputeOpened):
        open_dispute(case, event.reason, by, now)
    elif isinstance(event, DisputeResolved):
        dispute = next(h for h in case.holds if h.kind is HoldKind.dispute)
        lift_hold(case, HoldKind.dispute)
        upheld = event.outcome == "upheld"
        if not upheld:
            case.complaint_refused = True  # consumer letters name the mediator (L616-1)
        resolved = ev.DisputeResolved(
            dispute_id=dispute.ref or "dispute",
            resolved_on=now.date(),
            outcome=ev.DisputeOutcome(
                "partly_upheld" if upheld and event.credit_note_amount else event.outcome
            ),
            credited_amount=(event.credit_note_amount or case.balance) if upheld else Decimal(0),
        )
        detail = f"{event.outcome}: {event.note or ''}".strip()
        journal(case, now, "DisputeResolved", detail, by, resolved)
        if event.outcome == "upheld":
            if event.credit_note_amount is None:
                close(case, Outcome.cancelled, now, "dispute upheld, invoice cancelled")
            else:
                _credit(case, event.credit_note_amount, "dispute upheld", now)
    elif isinstance(event, CreditNote):
        _credit(case, event.amount, event.reference, now, event.issued_on)
    elif isinstance(event, OperatorPause):
        put_hold(case, Hold(kind=HoldKind.operator, since=now, reason=event.reason, by=by))
        journal(case, now, "CasePaused", event.reason, by, ops.CasePaused(reason=event.reason))
    elif isinstance(event, OperatorResume):
        lift_hold(case, HoldKind.operator)
        journal(case, now, "CaseResumed", event.reason, by, ops.CaseResumed(reason=event.reason))
    elif isinstance(event, InsolvencyPublished):
        return _insolvency(case, event, now)
    elif isinstance(event, EInvoicingStatus):
        _einvoicing(case, event, now, einvoicing_effect(event.code))
    elif isinstance(event, RegisteredLetterStatus):
        _registered_letter(case, event, now)
    elif isinstance(event, RegisteredLetterProblem):
        return _letter_problem(case, event, policy, now)
    elif isinstance(event, PhoneOutcome):
        return _phone_outcome(case, event, policy, now)
    elif isinstance(event, PartnerReport):
        return _partner_report(case, event, now)
    elif isinstance(event, MigratePolicy) and event.policy is not None:
        migrate_policy(case, event.policy, event.reason, by, now)
    elif isinstance(event, CloseCase):
        if event.outcome == "handed_over":
            handover = ev.CaseHandedOver(
                party=_handover_party(case.stage),
                party_name=event.reason[:200],
                handed_over_on=now.date(),
            )
            journal(case, now, "CaseHandedOver", event.reason, by, handover)
        if event.evidence:
            case.write_off_evidence = list(event.evidence)
            listed = "; ".join(
                f"{e.kind.value} du {e.on} {e.reference}".strip() for e in event.evidence
            )
            journal(case, now, "WriteOffEvidence", listed[:500], by)
        close(case, Outcome(event.outcome), now, event.reason, by)
    return []


def _handover_party(stage: Stage) -> ev.HandoverParty:
    """Who holds a case closed as handed over: an agency, a commissaire de justice (small
    claims, enforcement, court), or the creditor itself before any escalation."""
    if stage is Stage.agency:
        return ev.HandoverParty.collection_agency
    if stage in ESCALATED:
        return ev.HandoverParty.commissaire_de_justice
    return ev.HandoverParty.creditor


def migrate_policy(
    case: CaseView, policy: Policy, reason: str, by: str | None, now: datetime
) -> None:
    """Move the case to ``policy``: the steps it already took (by key, in order, an action
    that was done) count as done; the next step is the first one not taken."""
    taken = {action.step for action in case.actions if action.status == "sent"}
    done = 0
    while done < len(policy.steps) and policy.steps[done].key in taken:
        done += 1
    fact = ops.PolicyMigrated(
        from_policy=case.policy_id,
        from_version=case.policy_version,
        to_policy=policy.id,
        to_version=policy.version,
        reason=reason,
    )
    detail = f"{case.policy_id} v{case.policy_version} -> {policy.id} v{policy.version}: {reason}"
    case.policy_id, case.policy_version, case.steps_done = policy.id, policy.version, done
    journal(case, now, "PolicyMigrated", detail, by, fact)


def open_dispute(case: CaseView, reason: str, by: str | None, now: datetime) -> None:
    dispute_id = f"dispute-{sum(1 for j in case.journal if j.type == 'DisputeOpened') + 1}"
    put_hold(case, Hold(kind=HoldKind.dispute, since=now, reason=reason, by=by, ref=dispute_id))
    fact = ev.DisputeOpened(dispute_id=dispute_id, opened_on=now.date(), reason=reason)
    journal(case, now, "DisputeOpened", reason, by, fact)


def _insolvency(case: CaseView, event: InsolvencyPublished, now: datetime) -> list[str]:
    """Freeze everything (C. com. L622-21) and declare the claim within 2 months (R622-24)."""
    case.claim_declaration_deadline = add_months(event.published_on, 2)
    case.mandataire = event.mandataire
    case.insolvency_published_on = event.published_on
    reason = f"{event.proceeding} published {event.published_on}; mandataire {event.mandataire}"
    put_hold(case, Hold(kind=HoldKind.insolvency, since=now, reason=reason, by=event.by))
    case.stage = Stage.insolvency
    fact = ev.InsolvencyDetected(
        proceeding=PROCEEDINGS[event.proceeding],
        published_on=event.published_on,
        court=event.court,
        claim_deadline=case.claim_declaration_deadline,
    )
    journal(case, now, "InsolvencyDetected", reason, event.by, fact)
    return [FOLLOW_UP_DECLARE_CLAIM]


def _einvoicing(
    case: CaseView, event: EInvoicingStatus, now: datetime, effect: EInvoicingEffect
) -> None:
    fact = ops.EInvoicingStatusReceived(
        code=event.code, meaning=effect.meaning, reported_on=event.reported_on
    )
    detail = f"{event.code}: {effect.meaning}"
    journal(case, now, "EInvoicingStatusReceived", detail, event.by, fact)
    if effect.action == "close_cancelled":
        close(case, Outcome.cancelled, now, f"e-invoicing status {event.code}: {effect.meaning}")
    elif effect.action == "hold":
        assert effect.hold is not None
        put_hold(case, Hold(kind=effect.hold, since=now, reason=effect.meaning, by=event.by))
    elif effect.action == "lift":
        assert effect.hold is not None
        lift_hold(case, effect.hold)
    elif effect.action == "payment":
        amount = event.amount if event.amount is not None else case.balance
        reference = (
            _sender_reference("einvoicing", event.status_id)
            if event.status_id
            else f"einvoicing-212-{event.reported_on}-{len(case.payments) + 1}"
        )
        apply_payment(
            case, PaymentIn(amount=amount, paid_on=event.reported_on, reference=reference), now
        )


def _registered_letter(case: CaseView, event: RegisteredLetterStatus, now: datetime) -> None:
    """The formal notice's deadline runs from first presentation; "not collected" and
    "refused" count as presented (Cass. 1re civ. 20 Jan 2021)."""
    notice: FormalNoticeState = case.formal_notice  # type: ignore[assignment]
    notice.statuses.append((event.status, event.on))
    fact = ev.RegisteredLetterPresented(
        letter_reference=notice.letter_reference or "formal_notice",
        status=ev.LetterStatus(event.status),
        status_on=event.on,
    )
    journal(case, now, "RegisteredLetterStatus", f"{event.status} on {event.on}", event.by, fact)
    if event.status != "wrong_address" and notice.first_presented_on is None:
        notice.first_presented_on = event.on


def _letter_problem(
    case: CaseView, event: RegisteredLetterProblem, policy: Policy, now: datetime
) -> list[str]:
    """The provider will not deliver the notice's letter, or holds it. Not delivered: the
    notice was never served (C. civ. 1344 needs it received, its deadline runs from first
    presentation), so the case says so and goes back to the formal-notice step, blocked
    until an operator retries it (a new letter). Held: only the operator's task. A repeat
    of a known problem changes nothing."""
    if any(
        (known.letter_reference, known.anomaly) == (event.letter_reference, event.anomaly)
        for known in case.letter_problems
    ):
        return []
    case.letter_problems.append(
        LetterProblemState(
            letter_reference=event.letter_reference,
            anomaly=event.anomaly,
            final=event.final,
            reason=event.reason,
            detail=event.detail,
            reported_at=now,
        )
    )
    fact = ev.RegisteredLetterUndelivered(
        letter_reference=event.letter_reference,
        anomaly=ev.LetterAnomalyKind(event.anomaly),
        final=event.final,
        reason=event.reason,
        provider_status=event.provider_status,
    )
    summary = f"{event.anomaly}: {event.reason}"
    journal(case, now, "RegisteredLetterProblem", summary, event.by, fact)
    notice = case.formal_notice
    if event.final and notice is not None and notice.undelivered is None:
        notice.undelivered = event.anomaly
        index = case.steps_done - 1
        if 0 <= index < len(policy.steps) and policy.steps[index].kind is StepKind.formal_notice:
            case.steps_done = index
            case.stage = Stage.amicable
            block_step(
                case,
                policy.steps[index].key,
                "registered_letter",
                f"lettre recommandée non distribuée ({event.anomaly}) : {event.reason}",
                now,
            )
    return [f"{FOLLOW_UP_LETTER_PROBLEM}{len(case.letter_problems) - 1}"]


def _phone_outcome(case: CaseView, event: PhoneOutcome, policy: Policy, now: datetime) -> list[str]:
    fact = ev.PhoneCallLogged(
        called_at=now,
        operator=event.by or "operator",
        outcome=CALL_OUTCOMES[event.outcome],
        note=event.reason,
    )
    detail = f"{event.outcome} {event.reason or ''}".strip()
    journal(case, now, "PhoneCallLogged", detail, event.by, fact)
    if event.outcome == "promise" and event.promised_on is not None:
        promise = PromiseToPay(promised_on=event.promised_on, by=event.by, note="by phone")
        return apply_event(case, promise, policy, now)
    if event.outcome == "dispute" and event.reason and not has_hold(case, HoldKind.dispute):
        open_dispute(case, event.reason, event.by, now)
    return []


def _partner_report(case: CaseView, event: PartnerReport, now: datetime) -> list[str]:
    fact = ops.PartnerReported(
        status=event.status,
        reported_on=event.on,
        amount=event.amount,
        result=event.result,
        note=event.note,
    )
    detail = f"{event.status} {event.note or ''}".strip()
    journal(case, now, "PartnerReport", detail, event.by, fact)
    if event.status == "amount_collected" and event.amount is not None:
        reference = (
            _sender_reference("partner", event.report_id)
            if event.report_id
            else f"partner-{event.on}-{len(case.payments) + 1}"
        )
        apply_payment(
            case, PaymentIn(amount=event.amount, paid_on=event.on, reference=reference), now
        )
    elif event.status == "title_obtained":
        if case.after_title_rules and case.title_on is None:
            case.title_on = event.on  # 10 years to enforce it (CPCE L111-4)
            case.prescription_last_day = prescription_last_day(case)
        else:
            interrupt_prescription(case, event.on)  # court claim / title (C. civ. 2241)
        return [FOLLOW_UP_ENFORCEMENT]
    elif (
        event.status == "accepted"
        and case.after_title_rules
        and case.stage is Stage.injonction_de_payer
        and case.court_claim_on is None
    ):
        case.court_claim_on = event.on  # the request filed: pending (C. civ. 2241, 2242)
        case.prescription_last_day = prescription_last_day(case)
    elif event.status == "enforcement_measure":
        interrupt_prescription(case, event.on)  # C. civ. 2244
    elif event.status == "closed":
        if case.court_claim_on and not case.court_claim_ended_on and not case.title_on:
            case.court_claim_ended_on = event.on  # ended without a title: a new period runs
            case.prescription_last_day = prescription_last_day(case)
        if event.result == "uncollectable":
            why = "partner reports the claim uncollectable"
            close(case, Outcome.written_off, now, why, event.by)
        else:
            case.stage = Stage.awaiting_next_phase
    return []
