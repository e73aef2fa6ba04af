"""One durable workflow per unpaid invoice: the legal timeline and every event on it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.channel_requests import ChannelReceipt, ChannelRequest, Recipient
    from activities.email_activities import EmailActivities
    from activities.email_request import EmailReceipt
    from activities.event_requests import AppendCaseEvents, AppendedEvents
    from legal import DebtorCalendar, small_claims_eligibility
    from schemas.case import (
        ActionRecord,
        CaseStart,
        CaseView,
        FormalNoticeState,
        HoldKind,
        Outcome,
        PaymentIn,
        PlannedAction,
        Stage,
    )
    from schemas.case_events import CaseEventEnvelope, MigratePolicy
    from schemas.french_format import french_date
    from schemas.policy import Channel, PolicyStep, StepKind
    from workflows import case_reducer as reducer
    from workflows import facts
    from workflows.claim import debtor_calendar, prescription_last_day
    from workflows.payment_rules import check_payment
    from workflows.planner import Wake, escalate_from, next_wake
    from workflows.step_requests import (
        PARTNERS,
        channel_request,
        claim_context,
        deadline_days,
        email_request,
        partner_recipient,
        recipient,
    )

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
    non_retryable_error_types=["InvalidRecipient", "TemplateNotFound", "WrongChannel"],
)
# Cases started before this change keep their behaviour on replay (no prescription timers,
# no working-day shift); new cases record the marker and follow the legal clock.
LEGAL_TIMELINE_PATCH = "legal-timeline-v2"
# Cases started before the event store keep no stream; new ones append every fact.
EVENT_STORE_PATCH = "event-store-v1"
# A paid case thanks the debtor with a receipt; a refused email becomes an operator task.
RECEIPT_PATCH = "paid-receipt-v1"
BOUNCE_PATCH = "email-bounce-task-v1"


@workflow.defn(name="CollectionCase")
class CollectionCaseWorkflow:
    """Walks the policy's steps on durable timers; events pause, branch or close it."""

    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        self._start = start
        self._policy = start.policy
        self._case = start.carried or CaseView.opened(start)
        self._changed = False
        self._follow_ups: list[str] = []
        self._timed_law = False
        self._store_events = False
        self._cal: DebtorCalendar | None = None

    @workflow.run
    async def run(self, start: CaseStart) -> CaseView:
        self._timed_law = workflow.patched(LEGAL_TIMELINE_PATCH)
        self._store_events = workflow.patched(EVENT_STORE_PATCH)
        if self._store_events and not self._case.journal:
            reducer.journal(
                self._case, self._case.opened_at, "InvoiceRegistered",
                f"{start.invoice.invoice_number}: {start.invoice.amount_due} due "
                f"{start.invoice.due_date}, policy {self._policy.id} v{self._policy.version}",
                fact=facts.invoice_registered(start),
            )  # fmt: skip
        if self._timed_law:
            self._cal = debtor_calendar(self._case)
            if self._case.prescription_last_day is None:
                self._case.prescription_last_day = prescription_last_day(self._case)
        while self._case.stage is not Stage.closed:
            self._plan_next()  # before any await: a query must never see a stale plan
            await self._flush_events()
            await self._run_follow_ups()
            if self._closed():
                break
            wake = self._plan_next()
            timeout = None if wake.at is None else wake.at - workflow.now()
            if not await self._wait_for_change(timeout):
                await self._act(wake)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._start.model_copy(update={"carried": self._case}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._case.outcome is Outcome.paid and workflow.patched(RECEIPT_PATCH):
            await self._send_receipt()
        await self._flush_events()
        return self._case

    def _closed(self) -> bool:
        # A method, not an inline check: handlers change the stage while the loop awaits.
        return self._case.stage is Stage.closed

    # ---- reads and events -------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> CaseView:
        """The live case, as operators see it."""
        return self._case

    @workflow.signal(name="record_payment")
    def record_payment(self, payment: PaymentIn) -> None:
        """A payment reported without waiting for an answer (retries are applied once)."""
        if reducer.apply_payment(self._case, payment, workflow.now()):
            self._changed = True

    @workflow.update(name="apply_payment")
    def apply_payment(self, payment: PaymentIn) -> CaseView:
        """A payment that must be accepted or refused (over the balance, closed case)."""
        if reducer.apply_payment(self._case, payment, workflow.now()):
            self._changed = True
        return self._case

    @apply_payment.validator
    def _validate_payment(self, payment: PaymentIn) -> None:
        check_payment(self._case, payment)

    @workflow.signal(name="record_event")
    def record_event(self, envelope: CaseEventEnvelope) -> None:
        """An event from a channel or partner; one that cannot apply is journaled, not lost."""
        try:
            reducer.check_event(self._case, envelope.event)
        except reducer.EventRejected as rejected:
            reducer.journal(self._case, workflow.now(), "EventIgnored", str(rejected))
            return
        self._apply(envelope)

    @workflow.update(name="apply_event")
    def apply_event(self, envelope: CaseEventEnvelope) -> CaseView:
        """An event reported through the API: refused before any change if it cannot apply."""
        self._apply(envelope)
        return self._case

    @apply_event.validator
    def _validate_event(self, envelope: CaseEventEnvelope) -> None:
        reducer.check_event(self._case, envelope.event)

    def _apply(self, envelope: CaseEventEnvelope) -> None:
        now = workflow.now()
        event = envelope.event
        self._follow_ups += reducer.apply_event(self._case, event, self._policy, now)
        if isinstance(event, MigratePolicy) and event.policy is not None:
            self._policy = event.policy  # carried over continue-as-new through _start
            self._start = self._start.model_copy(update={"policy": event.policy})
        notice = self._case.formal_notice
        if notice is not None and notice.first_presented_on and notice.escalate_from is None:
            cal = self._cal or debtor_calendar(self._case)
            with workflow.unsafe.sandbox_unrestricted():
                notice.deadline, notice.escalate_from = escalate_from(
                    notice.first_presented_on, self._policy, cal, now
                )
        self._changed = True

    # ---- the timeline -----------------------------------------------------------------

    def _plan_next(self) -> Wake:
        with workflow.unsafe.sandbox_unrestricted():  # holidays reads gettext: deterministic
            wake = next_wake(self._case, self._policy, self._cal, timed_law=self._timed_law)
        self._show_next(wake)
        return wake

    def _show_next(self, wake: Wake) -> None:
        if wake.kind is None:
            if not self._timed_law:
                self._case.stage = Stage.awaiting_next_phase
                self._case.next_action = None
                return
            self._case.next_action = PlannedAction(step="waiting", label="waiting", why=wake.why)
            return
        step = wake.step
        self._case.next_action = PlannedAction(
            step=step.key if step else wake.kind,
            label=step.label if step else wake.kind.replace("_", " "),
            channel=step.channel if step else None,
            planned_at=wake.at,
            why=wake.why,
        )

    async def _wait_for_change(self, at_most: timedelta | None) -> bool:
        """Sleep until something happens to the case (True) or the timeout passes (False)."""
        if at_most is not None and at_most <= timedelta(0):
            return False
        self._changed = False
        try:
            await workflow.wait_condition(lambda: self._changed, timeout=at_most)
        except TimeoutError:
            return False
        return True

    async def _act(self, wake: Wake) -> None:
        case, now = self._case, workflow.now()
        if wake.kind == "step" and wake.step is not None:
            await self._run_step(wake.step)
        elif wake.kind == "promise_expiry" and reducer.has_hold(case, HoldKind.promise):
            promise = next(h for h in case.holds if h.kind is HoldKind.promise)
            reducer.lift_hold(case, HoldKind.promise)
            fact = facts.promise_broken(case, promise, self._policy.promise_grace)
            reducer.journal(
                case, now, "PromiseBroken", "unpaid after the promised date + grace", fact=fact
            )
        elif wake.kind == "instalment_check" and case.plan is not None:
            self._check_instalment()
        elif wake.kind == "prescription_alert" and wake.alert_day is not None:
            case.prescription_alerts_sent.append(wake.alert_day)
            alerted = facts.prescription_alerted(case, now.date())
            reducer.journal(case, now, "PrescriptionAlerted", wake.why, fact=alerted)
        elif wake.kind == "prescription_expiry":
            reducer.close(case, Outcome.prescribed, now, wake.why)

    def _check_instalment(self) -> None:
        case, plan = self._case, self._case.plan
        assert plan is not None
        due = sum((amount for _, amount in plan.instalments[: plan.checked + 1]), Decimal(0))
        if case.paid_total - plan.paid_before >= due:
            plan.checked += 1
            return
        due_on, amount = plan.instalments[plan.checked]
        missed = facts.instalment_missed(plan.plan_id, plan.checked + 1, due_on, amount)
        reducer.lift_hold(case, HoldKind.payment_plan)
        case.plan = None
        reducer.journal(
            case,
            workflow.now(),
            "InstalmentMissed",
            "the case resumes for the whole balance",
            fact=missed,
        )

    async def _run_step(self, step: PolicyStep) -> None:
        case = self._case
        if step.min_balance is not None and case.balance < step.min_balance:
            reducer.journal(
                case, workflow.now(), "StepSkipped", f"{step.key}: balance under {step.min_balance}"
            )
        elif step.kind is StepKind.formal_notice:
            await self._formal_notice(step)
        elif step.kind is StepKind.escalation:
            await self._escalate(step)
        elif step.kind is StepKind.phone_call:
            context, _ = self._claim()
            action = await self._channel(step, "phone_task", step.template, context)
            self._note_action("PhoneTaskCreated", action, facts.phone_task(action))
        else:
            await self._reminder(step)
        case.steps_done += 1
        case.next_action = None
        if case.steps_done == len(self._policy.steps) and case.stage is Stage.amicable:
            case.stage = Stage.awaiting_next_phase

    async def _reminder(self, step: PolicyStep) -> None:
        invoice = self._start.invoice
        attachment = None
        if step.channel in (Channel.letter, Channel.letter_and_email):
            context, _ = self._claim()
            action = await self._channel(step, "letter", step.template, context)
            self._note_action("ReminderSent", action, facts.reminder_sent(action, step.template))
            if action.status == "sent":
                attachment = f"{self._case.case_id}/{step.key}/letter"
        if step.channel is Channel.email or step.channel is Channel.letter_and_email:
            template = step.email_template or step.template
            request = email_request(self._case, invoice, step.key, template)
            request.attach_document = attachment
            action = await self._record(
                step.key, step.label, Channel.email, self._send_email(request)
            )
            self._note_action("ReminderSent", action, facts.reminder_sent(action, template))
            if action.status == "failed" and "InvalidRecipient" in (action.detail or ""):
                await self._email_bounced(step, action)

    async def _send_receipt(self) -> None:
        """Thank the debtor: the invoice is settled (default-policies.md, full payment)."""
        request = email_request(self._case, self._start.invoice, "receipt", "payment_receipt@1")
        action = await self._record(
            "receipt", "Reçu de paiement", Channel.email, self._send_email(request)
        )
        if action.status == "sent":
            reducer.journal(self._case, action.done_at, "ReceiptSent", action.reference or "")

    async def _email_bounced(self, step: PolicyStep, action: ActionRecord) -> None:
        """A refused address: the fact is recorded and an operator gets a task to fix it."""
        if not workflow.patched(BOUNCE_PATCH):
            return
        reducer.journal(
            self._case, action.done_at, "EmailBounced",
            f"{action.recipient}: {action.detail}",
            fact=facts.email_bounced(action),
        )  # fmt: skip
        context, _ = self._claim()
        task = step.model_copy(
            update={"key": f"{step.key}_bounce", "label": "Adresse email refusée : appeler",
                    "kind": StepKind.phone_call, "template": "phone_call@1"}
        )  # fmt: skip
        created = await self._channel(task, "phone_task", "phone_call@1", context)
        self._note_action("PhoneTaskCreated", created, facts.phone_task(created))

    async def _formal_notice(self, step: PolicyStep) -> None:
        """Mise en demeure by LRAR (C. civ. 1344); its deadline runs from first presentation."""
        context, statement = self._claim()
        context["deadline_days"] = deadline_days(self._policy)
        action = await self._channel(step, "registered_letter", step.template, context)
        now = workflow.now()
        self._case.formal_notice = FormalNoticeState(
            sent_at=now, sent_on=now.date(), letter_reference=action.reference
        )
        self._case.stage = Stage.formal_notice
        fact = facts.formal_notice_sent(self._case, action, statement, self._policy)
        self._note_action("FormalNoticeSent", action, fact)

    async def _escalate(self, step: PolicyStep) -> None:
        """Small claims when eligible (CPCE L125-1), else the policy's route."""
        context, statement = self._claim()
        claimed = (
            statement.total - statement.indemnity if statement is not None else self._case.balance
        )
        ceiling = self._policy.escalation.small_claims_ceiling
        if small_claims_eligibility(claimed, Decimal(0), ceiling).eligible:
            self._case.stage = Stage.small_claims
            action = await self._channel(
                step, "handoff", "handoff_small_claims@1", context, "commissaire_small_claims"
            )
        elif self._policy.escalation.above_ceiling == "agency":
            self._case.stage = Stage.agency
            action = await self._channel(step, "handoff", "handoff_agency@1", context, "agency")
        else:
            self._case.stage = Stage.injonction_de_payer
            action = await self._channel(
                step, "court_file", "injonction_de_payer@1", context, "court"
            )
        self._note_escalation(action, claimed)

    async def _run_follow_ups(self) -> None:
        while self._follow_ups:
            follow_up = self._follow_ups.pop(0)
            if follow_up == reducer.FOLLOW_UP_DECLARE_CLAIM:
                await self._declare_claim()
            elif follow_up == reducer.FOLLOW_UP_ENFORCEMENT:
                self._case.stage = Stage.enforcement
                context, _ = self._claim()
                step = PolicyStep(
                    key="enforcement", label="Exécution forcée", kind=StepKind.escalation,
                    channel=Channel.handoff, template="handoff_enforcement@1",
                    offset=timedelta(0),
                )  # fmt: skip
                action = await self._channel(
                    step, "handoff", step.template, context, "commissaire_enforcement"
                )
                self._note_escalation(action, self._case.balance)

    async def _declare_claim(self) -> None:
        """Declaration of claim to the mandataire (C. com. L622-24, R622-24)."""
        case = self._case
        context, _ = self._claim()
        deadline = case.claim_declaration_deadline
        hold = next(h for h in case.holds if h.kind is HoldKind.insolvency)
        context["declaration_deadline"] = french_date(deadline) if deadline else ""
        context["proceeding"] = hold.reason
        published = case.insolvency_published_on
        context["publication_date"] = french_date(published) if published else ""
        step = PolicyStep(
            key="claim_declaration", label="Déclaration de créance", kind=StepKind.escalation,
            channel=Channel.claim_declaration, template="claim_declaration@1",
            offset=timedelta(0),
        )  # fmt: skip
        mandataire = Recipient(name=case.mandataire or "mandataire judiciaire")
        action = await self._channel(
            step, "claim_declaration", step.template, context, "mandataire", to=mandataire
        )
        self._note_action("ClaimDeclared", action, facts.claim_declared(case, action))
        reducer.close(case, Outcome.insolvency_claim_declared, workflow.now(), hold.reason)

    # ---- activities -------------------------------------------------------------------

    def _claim(self) -> tuple[dict[str, str], Any]:
        return claim_context(
            self._case, self._start.invoice, self._start.rates, workflow.now().date()
        )

    async def _channel(
        self,
        step: PolicyStep,
        channel: Any,
        template: str,
        context: dict[str, str],
        partner: Any = None,
        to: Recipient | None = None,
    ) -> ActionRecord:
        context = {
            "creditor_name": self._start.creditor_name,
            "creditor_address": self._start.creditor_address,
            "payment_instructions": self._start.payment_instructions,
            **context,
        }
        if to is None and partner in PARTNERS:
            to = partner_recipient(partner)
        request = channel_request(
            self._case,
            self._start.invoice,
            step.key,
            channel,
            template,
            context,
            partner,
            to or recipient(self._start.invoice),
        )
        return await self._record(step.key, step.label, Channel(channel), self._dispatch(request))

    def _activity_timeout(self) -> timedelta:
        return timedelta(seconds=self._start.activity_timeout_s)

    async def _dispatch(self, request: ChannelRequest) -> tuple[str, str, str]:
        activity_name = {
            "letter": "send_letter",
            "registered_letter": "send_registered_letter",
            "phone_task": "create_phone_task",
            "handoff": "hand_off_case",
            "court_file": "prepare_court_file",
            "claim_declaration": "declare_claim",
        }[request.channel]
        receipt = await workflow.execute_activity(
            activity_name,
            request,
            result_type=ChannelReceipt,
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=RETRY,
        )
        return receipt.reference, request.recipient.name, receipt.summary

    async def _send_email(self, request: Any) -> tuple[str, str, str]:
        receipt: EmailReceipt = await workflow.execute_activity_method(
            EmailActivities.send_email,
            request,
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=RETRY,
        )
        return receipt.message_id, request.to, receipt.subject

    async def _record(self, step: str, label: str, channel: Channel, action: Any) -> ActionRecord:
        """Run one activity and record what it did (or why it failed) on the case."""
        record = ActionRecord(
            step=step,
            label=label,
            channel=channel,
            done_at=workflow.now(),
            status="sent",
            idempotency_key=f"{self._case.case_id}/{step}",
        )
        try:
            record.reference, record.recipient, record.detail = await action
        except ActivityError as err:
            cause = err.cause
            detail = (
                f"{cause.type}: {cause.message}"
                if isinstance(cause, ApplicationError)
                else str(cause or err)
            )
            record.status, record.detail = "failed", detail
        record.done_at = workflow.now()
        self._case.actions.append(record)
        return record

    # ---- the event store --------------------------------------------------------------

    def _note_action(self, kind: str, action: ActionRecord, fact: Any) -> None:
        """Journal an act that was done (failed acts are in ``actions`` only)."""
        if action.status == "sent":
            detail = f"{action.label} ({action.channel.value}) {action.reference or ''}".strip()
            reducer.journal(self._case, action.done_at, kind, detail, fact=fact)

    def _note_escalation(self, action: ActionRecord, claimed: Decimal) -> None:
        case = self._case
        escalated = facts.case_escalated(case, claimed, action.done_at.date())
        reducer.journal(case, action.done_at, "CaseEscalated", case.stage.value, fact=escalated)
        if action.status == "sent" and action.channel is Channel.handoff:
            self._note_action("CaseHandedOver", action, facts.handed_over(case, action))

    async def _flush_events(self) -> None:
        """Append the journal's new facts to the case's stream (ids from the journal index,
        so a retried append records nothing twice)."""
        case = self._case
        if not self._store_events or case.journal_flushed >= len(case.journal):
            return
        batch = facts.new_events(case, workflow.info().workflow_id)
        flushed = len(case.journal)
        if batch:
            request = AppendCaseEvents(
                stream_id=case.case_id, expected_version=case.events_appended, events=batch
            )
            try:
                appended = await workflow.execute_activity(
                    "append_case_events",
                    request,
                    result_type=AppendedEvents,
                    start_to_close_timeout=self._activity_timeout(),
                    retry_policy=RETRY,
                )
                case.events_appended = appended.version
            except ActivityError as err:
                note = f"facts {case.journal_flushed}..{flushed - 1} not stored: {err.cause}"
                reducer.journal(case, workflow.now(), "EventStoreFailed", note)
                flushed = len(case.journal)
        case.journal_flushed = flushed
