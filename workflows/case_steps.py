"""The step executors of a case: what each timed wake does, and the follow-ups events ask for.

A step counts as done only when its action was done: an action that failed for good
leaves the step where it is, behind a ``blocked`` hold with a StepFailed fact and an
operator task, until an operator retries it with the same idempotency key. A step that
requires approval does not run until a person approved it: when it comes due the case
asks (an ``approval`` hold, an ApprovalRequested fact) and waits for the decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.channel_requests import Recipient
    from legal import small_claims_eligibility
    from schemas.case import ActionRecord, FormalNoticeState, HoldKind, Outcome, Stage
    from schemas.french_format import french_amount, french_date
    from schemas.policy import Channel, PolicyStep, StepKind
    from workflows import case_reducer as reducer
    from workflows import facts
    from workflows.case_activities import CaseActivities
    from workflows.claim import QUADRIENNALE, prescription_last_day
    from workflows.planner import Wake
    from workflows.step_requests import (
        claim_context,
        claimed_total,
        deadline_days,
        email_request,
    )

# A paid case thanks the debtor with a receipt; a refused email becomes an operator task.
RECEIPT_PATCH = "paid-receipt-v1"
BOUNCE_PATCH = "email-bounce-task-v1"
# A failed action stops its step (blocked hold, StepFailed, operator task) instead of
# being counted as done; cases whose failure was recorded before keep their old course.
STEP_FAILURE_PATCH = "step-failure-blocks-v1"
# A step whose policy requires approval waits for a person's decision before it runs
# (only policies with ``requires_approval`` reach the marker: older ones never ask).
APPROVAL_PATCH = "step-approval-v1"
# Cases with a debtor account hand their reminder emails to the debtor's conversation
# (one message for the debtor's invoices due together); only those cases reach the marker.
CONVERSATION_PATCH = "debtor-conversation-v1"
# A step never runs on a claim already prescribed: the case closes as prescribed first.
PRESCRIBED_FIRST_PATCH = "prescribed-before-steps-v1"
# Cases with a debtor account hand their letters to the conversation too: one statement of
# account, one formal notice for the debtor's invoices due together.
GROUPED_LETTERS_PATCH = "debtor-letters-v1"


def _amounts(context: dict[str, str]) -> dict[str, str]:
    """The claim as a letter states it: penalties, indemnity, total."""
    return {key: context[key] for key in ("penalties", "indemnity", "total")}


ENFORCEMENT = PolicyStep(
    key="enforcement", label="Exécution forcée", kind=StepKind.escalation,
    channel=Channel.handoff, template="handoff_enforcement@1", offset=timedelta(0),
)  # fmt: skip
CLAIM_DECLARATION = PolicyStep(
    key="claim_declaration", label="Déclaration de créance", kind=StepKind.escalation,
    channel=Channel.claim_declaration, template="claim_declaration@1", offset=timedelta(0),
)  # fmt: skip
FOLLOW_UP_STEPS = {
    reducer.FOLLOW_UP_DECLARE_CLAIM: CLAIM_DECLARATION.key,
    reducer.FOLLOW_UP_ENFORCEMENT: ENFORCEMENT.key,
}


class CaseSteps(CaseActivities):
    """What the timeline does when a wake comes due."""

    async def _act(self, wake: Wake) -> None:
        case, now = self._case, workflow.now()
        if wake.kind == "step" and wake.step is not None and self._lapsed():
            reducer.close(
                case, Outcome.prescribed, now,
                f"prescribed after {case.prescription_last_day}: no step runs on a lapsed claim",
            )  # fmt: skip
        elif wake.kind == "step" and wake.step is not None:
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
        done = True
        if step.min_balance is not None and case.balance < step.min_balance:
            reducer.journal(
                case, workflow.now(), "StepSkipped", f"{step.key}: balance under {step.min_balance}"
            )
        elif self._awaits_approval(step):
            done = False
        elif step.kind is StepKind.courtesy_notice:
            await self._courtesy_notice(step)
        elif step.kind is StepKind.formal_notice:
            done = await self._formal_notice(step)
        elif step.kind is StepKind.escalation:
            done = await self._escalate(step)
        elif step.kind is StepKind.phone_call:
            context, _ = self._claim()
            action = await self._channel(step, "phone_task", step.template, context)
            self._note_action("PhoneTaskCreated", action, facts.phone_task(action))
            done = not await self._stopped_by(step, action)
        else:
            done = await self._reminder(step)
        case.next_action = None
        if not done:
            return
        case.steps_done += 1
        if case.steps_done == len(self._policy.steps) and case.stage is Stage.amicable:
            case.stage = Stage.awaiting_next_phase
        if self._early_letter_events:  # reports on the letter this step just recorded
            self._apply_early_letter_events()

    def _awaits_approval(self, step: PolicyStep) -> bool:
        """True when ``step`` requires an approval it has not had: the case asks for it
        (an ``approval`` hold naming the step, an ApprovalRequested fact) and the step does
        not run. The decision comes as an event; approved, the step runs at the next wake."""
        if not step.requires_approval or not workflow.patched(APPROVAL_PATCH):
            return False
        if reducer.step_approved(self._case, step.key):
            return False
        if step.key not in self._case.pending_approvals:
            reducer.request_approval(self._case, step, workflow.now())
        return True

    async def _reminder(self, step: PolicyStep) -> bool:
        invoice = self._start.invoice
        attachment = None
        if step.channel in (Channel.letter, Channel.letter_and_email):
            context, statement = self._claim()
            if self._groups_letters():
                letter = self._channel_request(step, "letter", step.template, context)
                grouped = await self._conversation_letter(
                    step, letter, _amounts(context), claimed_total(self._case, statement)
                )
                if grouped is None:
                    return False  # withdrawn: the case closed or is held; the plan decides
                action = grouped
            else:
                action = await self._channel(step, "letter", step.template, context)
            self._note_action("ReminderSent", action, facts.reminder_sent(action, step.template))
            if action.status == "sent":
                attachment = f"{self._case.case_id}/{step.key}/letter"
                self._written_request(action.done_at)
            elif await self._stopped_by(step, action):
                return False
        if step.channel is Channel.email or step.channel is Channel.letter_and_email:
            template = step.email_template or step.template
            request = email_request(self._case, invoice, step.key, template)
            request.attach_document = attachment
            request.attach_invoice_file = step.attach_invoice
            if self._through_conversation():
                context, statement = self._claim()
                total = claimed_total(self._case, statement)
                grouped = await self._conversation_email(step, request, _amounts(context), total)
                if grouped is None:
                    return False  # withdrawn: the case closed or is held; the plan decides
                action = grouped
            else:
                action = await self._record(
                    step.key, step.label, Channel.email, self._send_email(request)
                )
            self._note_action("ReminderSent", action, facts.reminder_sent(action, template))
            bounced = action.status == "failed" and "InvalidRecipient" in (action.detail or "")
            if bounced:
                await self._email_bounced(step, action)  # its call task is the operator's
            if await self._stopped_by(step, action, task=not bounced):
                return False
        return True

    def _written_request(self, at: datetime) -> None:
        """A written payment request posted to a public-law debtor restarts the quadriennale
        (loi 68-1250 art. 2): a new 4-year period from the next 1 January. Only posted
        letters count here (the formal notice, the last reminder's letter), whose sending is
        provable; emails are left out, on the creditor's safe side. The ordinary periods
        are not interrupted by a demand (Cass. com. 18 May 2022)."""
        case = self._case
        if case.prescription_rule == QUADRIENNALE and at.date() not in case.written_requests:
            case.written_requests.append(at.date())
            case.prescription_last_day = prescription_last_day(case)

    async def _courtesy_notice(self, step: PolicyStep) -> None:
        """A heads-up before the due date (default-policies.md), with the invoice attached
        when the ERP sent it as a file; only while unpaid and before the due date (an
        invoice registered on or after its due date gets none; one registered in the last
        five days before it gets the notice at once). Sent alone, not grouped by the conversation:
        it announces one due date, it chases nothing. Its failure never stops the case."""
        case = self._case
        if workflow.now().date() >= case.due_date:
            reducer.journal(
                case, workflow.now(), "StepSkipped", f"{step.key}: the due date has come"
            )
            return
        request = email_request(case, self._start.invoice, step.key, step.template)
        request.attach_invoice_file = step.attach_invoice
        action = await self._record(step.key, step.label, Channel.email, self._send_email(request))
        if action.status == "sent":
            reducer.journal(case, action.done_at, "CourtesyNoticeSent", action.reference or "")

    async def _send_receipt(self) -> None:
        """Thank the debtor: the invoice is settled (default-policies.md, full payment)."""
        request = email_request(self._case, self._start.invoice, "receipt", "payment_receipt@1")
        context, _ = self._claim()
        last = self._case.payments[-1] if self._case.payments else None
        request.attach_receipt = {
            **context,
            "creditor_name": self._start.creditor_name,
            "creditor_address": self._start.creditor_address,
            "payment_date": french_date(last.paid_on) if last else context["document_date"],
            "payment_amount": french_amount(last.amount, self._case.currency) if last else "",
            # The invoice is settled: nothing more is claimed (penalties are not pursued).
            "penalties": "",
            "indemnity": "",
            "total": french_amount(self._case.balance, self._case.currency),
        }
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

    async def _formal_notice(self, step: PolicyStep) -> bool:
        """Mise en demeure by LRAR (C. civ. 1344); its deadline runs from first presentation.
        The notice exists only once the provider accepted the letter."""
        context, statement = self._claim()
        context["deadline_days"] = deadline_days(self._policy)
        if self._groups_letters():
            letter = self._channel_request(step, "registered_letter", step.template, context)
            grouped = await self._conversation_letter(
                step, letter, _amounts(context), claimed_total(self._case, statement)
            )
            if grouped is None:
                return False  # withdrawn: the case closed or is held; the plan decides
            action = grouped
        else:
            action = await self._channel(step, "registered_letter", step.template, context)
        if await self._stopped_by(step, action):
            return False
        now = workflow.now()
        self._case.formal_notice = FormalNoticeState(
            sent_at=now, sent_on=now.date(), letter_reference=action.reference
        )
        self._case.stage = Stage.formal_notice
        fact = facts.formal_notice_sent(self._case, action, statement, self._policy)
        self._note_action("FormalNoticeSent", action, fact)
        self._written_request(now)
        return True

    async def _escalate(self, step: PolicyStep) -> bool:
        """Small claims when eligible (CPCE L125-1), else the policy's route. The case is
        escalated only once the partner (or the court file) accepted it."""
        context, statement = self._claim()
        claimed = (
            statement.total - statement.indemnity if statement is not None else self._case.balance
        )
        ceiling = self._policy.escalation.small_claims_ceiling
        before = self._case.stage
        if small_claims_eligibility(claimed, Decimal(0), ceiling).eligible:
            self._case.stage = Stage.small_claims
            # The request claims principal and interest only (the indemnity is left out of
            # both the ceiling and the request: french-collection-law.md, s.4).
            context["claimed"] = french_amount(claimed, self._case.currency)
            action = await self._channel(
                step, "handoff", "handoff_small_claims@3", context, "commissaire_small_claims"
            )
        elif self._policy.escalation.above_ceiling == "agency":
            self._case.stage = Stage.agency
            action = await self._channel(step, "handoff", "handoff_agency@2", context, "agency")
        else:
            self._case.stage = Stage.injonction_de_payer
            action = await self._channel(
                step, "court_file", "injonction_de_payer@2", context, "court"
            )
        if await self._stopped_by(step, action):
            self._case.stage = before
            return False
        self._note_escalation(action, claimed)
        return True

    async def _run_follow_ups(self) -> None:
        """Run what events asked for, in order; a closed case runs none, and a follow-up
        that failed waits for its retry (the next ones wait behind it)."""
        case = self._case
        while case.follow_ups and case.stage is not Stage.closed:
            follow_up = case.follow_ups[0]
            if FOLLOW_UP_STEPS.get(follow_up) in reducer.blocked_steps(case):
                return
            if follow_up == reducer.FOLLOW_UP_DECLARE_CLAIM:
                done = await self._declare_claim()
            elif follow_up == reducer.FOLLOW_UP_ENFORCEMENT:
                done = await self._enforce()
            elif follow_up.startswith(reducer.FOLLOW_UP_LETTER_PROBLEM):
                index = int(follow_up.removeprefix(reducer.FOLLOW_UP_LETTER_PROBLEM))
                done = await self._letter_problem_task(index)
            else:
                done = True
            if not done:
                return
            case.follow_ups.remove(follow_up)

    async def _enforce(self) -> bool:
        """A title was obtained: the commissaire de justice enforces it."""
        before = self._case.stage
        self._case.stage = Stage.enforcement
        context, _ = self._claim()
        action = await self._channel(
            ENFORCEMENT, "handoff", ENFORCEMENT.template, context, "commissaire_enforcement"
        )
        if await self._stopped_by(ENFORCEMENT, action):
            self._case.stage = before
            return False
        self._note_escalation(action, self._case.balance)
        return True

    async def _declare_claim(self) -> bool:
        """Declaration of claim to the mandataire (C. com. L622-24, R622-24)."""
        case = self._case
        hold = next((h for h in case.holds if h.kind is HoldKind.insolvency), None)
        if hold is None:  # the insolvency was lifted meanwhile: nothing to declare
            return True
        context, _ = self._claim()
        deadline = case.claim_declaration_deadline
        context["declaration_deadline"] = french_date(deadline) if deadline else ""
        context["proceeding"] = hold.reason
        published = case.insolvency_published_on
        context["publication_date"] = french_date(published) if published else ""
        mandataire = Recipient(name=case.mandataire or "mandataire judiciaire")
        action = await self._channel(
            CLAIM_DECLARATION, "claim_declaration", CLAIM_DECLARATION.template, context,
            "mandataire", to=mandataire,
        )  # fmt: skip
        if await self._stopped_by(CLAIM_DECLARATION, action):
            return False
        self._note_action("ClaimDeclared", action, facts.claim_declared(case, action))
        reducer.close(case, Outcome.insolvency_claim_declared, workflow.now(), hold.reason)
        return True

    async def _letter_problem_task(self, index: int) -> bool:
        """An operator task for a registered letter the provider will not deliver (retry
        the formal notice: a new letter) or holds (fund the account: it leaves)."""
        problem = self._case.letter_problems[index]
        notice = next(
            (step for step in self._policy.steps if step.kind is StepKind.formal_notice), None
        )
        step_key = notice.key if notice is not None else "formal_notice"
        context, _ = self._claim()
        context.update(
            letter_reference=problem.letter_reference,
            letter_reason=problem.reason,
            letter_detail=problem.detail,
            letter_final="yes" if problem.final else "no",
            retry_path=f"/v1/cases/{self._case.case_id}/steps/{step_key}/retry",
        )
        label = (
            "Lettre recommandée non distribuée : relancer la mise en demeure"
            if problem.final
            else "Lettre recommandée bloquée chez le prestataire"
        )
        task = PolicyStep(
            key=f"{step_key}_letter_problem_{index + 1}",
            label=label,
            kind=StepKind.phone_call,
            channel=Channel.phone_task,
            template="letter_problem@1",
            offset=timedelta(0),
        )
        created = await self._channel(task, "phone_task", "letter_problem@1", context)
        self._note_action("PhoneTaskCreated", created, facts.phone_task(created))
        return True

    # ---- failure ------------------------------------------------------------------------

    async def _stopped_by(self, step: PolicyStep, action: ActionRecord, task: bool = True) -> bool:
        """True when ``action`` failed and the step must stop: the case gets a ``blocked``
        hold naming the step and the error, a StepFailed fact and an operator task."""
        if action.status == "sent" or not workflow.patched(STEP_FAILURE_PATCH):
            return False
        error = action.detail or "failed"
        reducer.block_step(self._case, step.key, action.channel.value, error, workflow.now())
        if task:
            await self._failure_task(step, error)
        return True

    async def _failure_task(self, step: PolicyStep, error: str) -> None:
        """An operator task: what failed, why, and how to run the step again."""
        context, _ = self._claim()
        context["failed_step"] = step.label
        context["failure"] = error[:500]
        context["retry_path"] = f"/v1/cases/{self._case.case_id}/steps/{step.key}/retry"
        task = step.model_copy(
            update={"key": f"{step.key}_failed_{len(self._case.actions)}",
                    "label": f"Étape bloquée : {step.label}", "kind": StepKind.phone_call,
                    "template": "step_failed@1"}
        )  # fmt: skip
        created = await self._channel(task, "phone_task", "step_failed@1", context)
        self._note_action("PhoneTaskCreated", created, facts.phone_task(created))

    # ---- helpers ------------------------------------------------------------------------

    def _lapsed(self) -> bool:
        """A step came due on a claim whose prescription has already run (an invoice
        registered too late): the case closes as prescribed instead of writing to the
        debtor. Cases that ran such a step before this rule keep their course."""
        last_day = self._case.prescription_last_day
        return (
            self._timed_law
            and last_day is not None
            and last_day < workflow.now().date()
            and workflow.patched(PRESCRIBED_FIRST_PATCH)
        )

    def _groups_letters(self) -> bool:
        """Such cases also hand their letters (the statement of account, the formal notice)
        to the conversation, which posts one letter for the debtor's invoices due together
        (patch debtor-letters-v1: cases that posted their letters alone keep doing so)."""
        return self._through_conversation() and workflow.patched(GROUPED_LETTERS_PATCH)

    def _through_conversation(self) -> bool:
        """Cases whose debtor has an account send their reminder emails through the
        debtor's conversation (grouped with its other invoices'); older cases alone."""
        return self._start.invoice.debtor_id is not None and workflow.patched(CONVERSATION_PATCH)

    def _claim(self) -> tuple[dict[str, str], Any]:
        return claim_context(
            self._case, self._start.invoice, self._start.rates, workflow.now().date()
        )

    def _note_escalation(self, action: ActionRecord, claimed: Decimal) -> None:
        case = self._case
        escalated = facts.case_escalated(case, claimed, action.done_at.date())
        reducer.journal(case, action.done_at, "CaseEscalated", case.stage.value, fact=escalated)
        if action.status == "sent" and action.channel is Channel.handoff:
            self._note_action("CaseHandedOver", action, facts.handed_over(case, action))
