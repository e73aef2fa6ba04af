"""One durable workflow per unpaid invoice: the case's timeline and its events."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.email_activities import EmailActivities
    from activities.email_request import EmailReceipt, EmailRequest
    from schemas.case import (
        ActionRecord,
        CaseStart,
        CaseView,
        Outcome,
        PaymentIn,
        PaymentRecord,
        PlannedAction,
        Stage,
    )
    from schemas.policy import PolicyStep
    from workflows.payment_rules import check_payment, is_duplicate
    from workflows.timeline import planned_at

EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=20,
    non_retryable_error_types=["InvalidRecipient"],
)


@workflow.defn(name="CollectionCase")
class CollectionCaseWorkflow:
    """Walks the policy's steps on durable timers until the invoice is paid."""

    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        self._start = start
        self._case = start.carried or CaseView.opened(start)
        self._changed = False

    @workflow.run
    async def run(self, start: CaseStart) -> CaseView:
        while self._case.stage is not Stage.closed:
            step = self._next_step()
            if step is None:
                self._case.stage = Stage.awaiting_next_phase
                self._case.next_action = None
                await self._wait_for_change(at_most=None)
            else:
                due = self._plan(step)
                if not await self._wait_for_change(at_most=due - workflow.now()):
                    await self._run_step(step)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._start.model_copy(update={"carried": self._case}))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._case

    @workflow.query(name="state")
    def state(self) -> CaseView:
        """The live case, as operators see it."""
        return self._case

    @workflow.signal(name="record_payment")
    def record_payment(self, payment: PaymentIn) -> None:
        """A payment reported without waiting for an answer (retries are applied once)."""
        self._apply_payment(payment)

    @workflow.update(name="apply_payment")
    def apply_payment(self, payment: PaymentIn) -> CaseView:
        """A payment that must be accepted or refused (over the balance, closed case)."""
        self._apply_payment(payment)
        return self._case

    @apply_payment.validator
    def _validate_payment(self, payment: PaymentIn) -> None:
        check_payment(self._case, payment)

    def _apply_payment(self, payment: PaymentIn) -> None:
        if self._case.stage is Stage.closed or is_duplicate(self._case, payment):
            return
        now = workflow.now()
        applied = min(payment.amount, self._case.balance)
        self._case.payments.append(
            PaymentRecord(
                amount=applied,
                paid_on=payment.paid_on,
                reference=payment.reference,
                recorded_at=now,
            )
        )
        self._case.balance -= applied
        if self._case.balance == 0:
            self._case.stage = Stage.closed
            self._case.outcome = Outcome.paid
            self._case.closed_at = now
            self._case.next_action = None
        self._changed = True

    def _next_step(self) -> PolicyStep | None:
        steps = self._start.policy.steps
        return steps[self._case.steps_done] if self._case.steps_done < len(steps) else None

    def _plan(self, step: PolicyStep) -> datetime:
        last = self._case.actions[-1].done_at if self._case.actions else None
        when = planned_at(step, self._start.policy, self._case.due_date, self._case.opened_at, last)
        self._case.next_action = PlannedAction(
            step=step.key, label=step.label, channel=step.channel, planned_at=when
        )
        return when

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

    async def _run_step(self, step: PolicyStep) -> None:
        case, invoice = self._case, self._start.invoice
        request = EmailRequest(
            idempotency_key=f"{case.case_id}/{step.key}",
            case_id=case.case_id,
            tenant=case.tenant,
            step=step.key,
            template=step.template,
            to=str(invoice.debtor.email),
            debtor_name=invoice.debtor.name,
            debtor_kind=invoice.debtor.kind.value,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount_due=invoice.amount_due,
            balance=case.balance,
            currency=invoice.currency,
        )
        action = ActionRecord(
            step=step.key,
            label=step.label,
            channel=step.channel,
            done_at=workflow.now(),
            status="sent",
            recipient=request.to,
            idempotency_key=request.idempotency_key,
        )
        try:
            receipt: EmailReceipt = await workflow.execute_activity_method(
                EmailActivities.send_email,
                request,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=EMAIL_RETRY,
            )
            action.reference = receipt.message_id
        except ActivityError as err:
            action.status = "failed"
            action.detail = str(err.cause or err)
        action.done_at = workflow.now()
        case.actions.append(action)
        case.steps_done += 1
        case.next_action = None
