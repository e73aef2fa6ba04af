"""One durable workflow per debtor: the conversation that groups its cases' reminders.

Each invoice's case keeps its own legal timeline; when one of its reminder emails comes due
it hands the email to this workflow (signal-with-start, activities/conversation_activities.py)
and waits for the outcome. The conversation waits the policy's grouping window from the
first request, then sends what came due meanwhile as one message (one request: the case's
own email, exactly as it would have gone alone; several: one email listing each invoice
and the total), and tells each case what was sent. A case that closes or is held while
waiting withdraws its request. The conversation ends when it has been idle for a while;
the next request starts it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.channel_activities import ChannelActivities
    from activities.conversation_requests import (
        ContactOutcome,
        ContactRequest,
        ConversationStart,
    )
    from activities.email_activities import EmailActivities
    from activities.grouped_email_request import GroupedEmailRequest
    from activities.grouped_letter_request import GroupedLetterRequest
    from workflows.contact_caps import group_until, next_allowed_contact
    from workflows.retry_policies import RETRY, failure_detail

IDLE = timedelta(days=30)
"""How long a conversation with nothing to send stays open before it ends."""
CONTINUE_AS_NEW_AFTER = 2_000
"""History events after which an idle conversation continues as new."""
KEEP_ANSWERS = 500
"""Answers carried over continue-as-new (older requests cannot be redelivered by then)."""


@workflow.defn(name="DebtorConversation")
class DebtorConversationWorkflow:
    @workflow.init
    def __init__(self, start: ConversationStart) -> None:
        self._start = start
        self._pending: list[ContactRequest] = list(start.pending)
        self._contacts = list(start.contacts)
        self._sent = start.sent
        self._answered: dict[str, ContactOutcome] = dict(start.answered)
        self._answer_later: list[tuple[ContactRequest, ContactOutcome]] = []
        """Withdrawn requests, answered by the loop (a signal handler cannot await)."""

    @workflow.signal(name="contact_due")
    def contact_due(self, request: ContactRequest) -> None:
        """A case's reminder to send. A key already pending changes nothing; one already
        sent is answered again with what was sent; one that failed or was withdrawn is sent
        anew (the case retries it, e.g. after an operator fixed a bounced address)."""
        if any(p.key == request.key for p in self._pending):
            return
        prior = self._answered.get(request.key)
        if prior is not None and prior.status == "sent":
            self._answer_later.append((request, prior))
            return
        self._pending.append(request)

    @workflow.signal(name="withdraw_contact")
    def withdraw_contact(self, key: str) -> None:
        """A case that closed or was held before its reminder went out takes it back (it
        is answered ``withdrawn``); once sent, the case gets the sent outcome instead."""
        for request in [p for p in self._pending if p.key == key]:
            self._pending.remove(request)
            withdrawn = ContactOutcome(step=request.step, status="withdrawn")
            self._answered[key] = withdrawn
            self._answer_later.append((request, withdrawn))

    @workflow.query(name="state")
    def state(self) -> ConversationStart:
        return self._carried()

    @workflow.run
    async def run(self, start: ConversationStart) -> None:
        while True:
            await self._answer_withdrawn()
            if not self._pending:
                if self._history_long():
                    workflow.continue_as_new(self._carried())
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._pending) or bool(self._answer_later), timeout=IDLE
                    )
                except TimeoutError:
                    return
                continue
            wait = self._send_at() - workflow.now()
            if wait > timedelta(0):
                # Requests arriving meanwhile join this message; a withdrawal is answered
                # at once (its case waits for the answer).
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._answer_later) or not self._pending, timeout=wait
                    )
                    continue
                except TimeoutError:
                    pass
            # One message per channel: emails together, letters together, registered
            # letters together (the oldest request's channel first).
            channel = self._pending[0].channel
            batch = [p for p in self._pending if p.channel == channel]
            self._pending = [p for p in self._pending if p.channel != channel]
            if batch:
                await self._send(batch)

    def _send_at(self) -> datetime:
        """The grouping window's end, moved to the first instant the debtor's contact caps
        and hours allow (workflows/contact_caps.py)."""
        policy = self._start.contact_policy
        first = min(p.requested_at for p in self._pending)
        at = max(group_until(first, policy), workflow.now())
        with workflow.unsafe.sandbox_unrestricted():  # holidays reads gettext: deterministic
            return next_allowed_contact(self._contacts, at, self._start.kind, policy)

    def _history_long(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= CONTINUE_AS_NEW_AFTER
            or info.is_continue_as_new_suggested()
        )

    def _carried(self) -> ConversationStart:
        return self._start.model_copy(
            update={
                "pending": list(self._pending),
                "contacts": self._contacts[-50:],
                "sent": self._sent,
                "answered": dict(list(self._answered.items())[-KEEP_ANSWERS:]),
            }
        )

    async def _send(self, batch: list[ContactRequest]) -> None:
        self._sent += 1
        numbers = [r.invoice_number for r in batch]
        try:
            if batch[0].letter is not None:
                outcome = await self._send_letter(batch)
            else:
                outcome = await self._send_email(batch)
            self._contacts.append(workflow.now())
        except ActivityError as err:
            outcome = ContactOutcome(step="", status="failed", detail=failure_detail(err))
        for request in batch:
            others = [n for n in numbers if n != request.invoice_number]
            answer = outcome.model_copy(update={"step": request.step, "grouped_with": others})
            self._answered.pop(request.key, None)  # most recent last
            self._answered[request.key] = answer
            await self._answer(request, answer)

    async def _send_letter(self, batch: list[ContactRequest]) -> ContactOutcome:
        """One letter: the case's own when it is alone; else one letter listing each
        invoice with its décompte and the total (activities/channel_activities.py)."""
        timeout = timedelta(seconds=self._start.activity_timeout_s)
        letters = [r.letter for r in batch if r.letter is not None]
        if len(letters) == 1:
            alone = (
                ChannelActivities.send_registered_letter
                if letters[0].channel == "registered_letter"
                else ChannelActivities.send_letter
            )
            receipt = await workflow.execute_activity_method(
                alone, letters[0], start_to_close_timeout=timeout, retry_policy=RETRY
            )
        else:
            registered = letters[0].channel == "registered_letter"
            grouped = GroupedLetterRequest(
                idempotency_key=f"{self._start.debtor_id}/{letters[0].channel}/{self._sent}",
                tenant=self._start.tenant,
                debtor_id=self._start.debtor_id,
                channel="registered_letter" if registered else "letter",
                items=letters,
                workflow_ids=[r.case_workflow_id for r in batch],
                line_totals=[r.line_total for r in batch],
            )
            receipt = await workflow.execute_activity_method(
                ChannelActivities.send_grouped_letter,
                grouped,
                start_to_close_timeout=timeout,
                retry_policy=RETRY,
            )
        return ContactOutcome(
            step="", status="sent", message_id=receipt.reference, detail=receipt.summary
        )

    async def _send_email(self, batch: list[ContactRequest]) -> ContactOutcome:
        """One email: the case's own when it is alone; else one listing each invoice."""
        timeout = timedelta(seconds=self._start.activity_timeout_s)
        emails = [r.email for r in batch if r.email is not None]
        if len(emails) == 1:
            receipt = await workflow.execute_activity_method(
                EmailActivities.send_email,
                emails[0],
                start_to_close_timeout=timeout,
                retry_policy=RETRY,
            )
        else:
            grouped = GroupedEmailRequest(
                idempotency_key=f"{self._start.debtor_id}/contact/{self._sent}",
                tenant=self._start.tenant,
                debtor_id=self._start.debtor_id,
                items=emails,
                amounts=[r.amounts for r in batch],
                line_totals=[r.line_total for r in batch],
            )
            receipt = await workflow.execute_activity_method(
                EmailActivities.send_grouped_email,
                grouped,
                start_to_close_timeout=timeout,
                retry_policy=RETRY,
            )
        return ContactOutcome(
            step="",
            status="sent",
            message_id=receipt.message_id,
            recipient=receipt.recipient,
            detail=receipt.subject,
        )

    async def _answer_withdrawn(self) -> None:
        while self._answer_later:
            request, outcome = self._answer_later.pop(0)
            await self._answer(request, outcome)

    async def _answer(self, request: ContactRequest, outcome: ContactOutcome) -> None:
        """Tell the case; a case that has closed meanwhile no longer listens."""
        handle = workflow.get_external_workflow_handle(request.case_workflow_id)
        try:
            await handle.signal("contact_done", outcome)
        except ApplicationError as err:
            workflow.logger.info("case %s did not take its outcome: %s", request.key, err)
