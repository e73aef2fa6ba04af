"""How a case's workflow calls the outside world: one activity per action, by reference,
each with the idempotency key of its case and step, and the event-store flush."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.channel_activities import ChannelActivities
    from activities.channel_requests import ChannelReceipt, ChannelRequest, Recipient
    from activities.conversation_activities import request_contact
    from activities.conversation_requests import (
        ContactOutcome,
        ContactRequest,
        ConversationStart,
    )
    from activities.email_activities import EmailActivities
    from activities.email_request import EmailRequest
    from activities.event_activities import EventActivities
    from activities.event_requests import AppendCaseEvents, RecordCase
    from schemas.case import ActionRecord, CaseView, Stage
    from schemas.contact_policy import contact_policy_for
    from schemas.policy import Channel, PolicyStep
    from workflows import case_reducer as reducer
    from workflows import facts
    from workflows.case_base import CaseWorkflowBase
    from workflows.retry_policies import APPEND_RETRY, RETRY, failure_detail
    from workflows.step_requests import PARTNERS, channel_request, partner_recipient, recipient

HOURS_SLACK = timedelta(days=4)
"""Longest a contact may wait for the allowed hours (a weekend and two holidays)."""
# A write that lands while the case hands its reminder over (the request_contact activity)
# is published as soon as the case starts waiting, not once the conversation answers.
CONTACT_WAIT_PATCH = "contact-wait-keeps-writes-v1"
CONTACT_MARGIN = timedelta(hours=1)
"""Beyond the grouping window and the send's attempts, how long a case waits for its
debtor's conversation before sending the reminder alone (the conversation retries a
failing relay as the case would: this is for a conversation that is not running)."""

Dispatch = Callable[[ChannelActivities, ChannelRequest], Awaitable[ChannelReceipt]]
CHANNEL_ACTIVITIES: dict[str, Dispatch] = {
    "letter": ChannelActivities.send_letter,
    "registered_letter": ChannelActivities.send_registered_letter,
    "phone_task": ChannelActivities.create_phone_task,
    "handoff": ChannelActivities.hand_off_case,
    "court_file": ChannelActivities.prepare_court_file,
    "claim_declaration": ChannelActivities.declare_claim,
}


def view_digest(case: CaseView) -> str:
    """What the read model would show of the case, less the bookkeeping of publishing it."""
    shown = case.model_dump_json(exclude={"view_revision", "journal_flushed", "events_appended"})
    return hashlib.sha256(shown.encode()).hexdigest()


class CaseActivities(CaseWorkflowBase):
    """Activity calls of the case workflow; every result lands in ``case.actions``."""

    def _activity_timeout(self) -> timedelta:
        return timedelta(seconds=self._start.activity_timeout_s)

    async def _channel(
        self,
        step: PolicyStep,
        channel: Any,
        template: str,
        context: dict[str, str],
        partner: Any = None,
        to: Recipient | None = None,
    ) -> ActionRecord:
        request = self._channel_request(step, channel, template, context, partner, to)
        return await self._record(step.key, step.label, Channel(channel), self._dispatch(request))

    def _channel_request(
        self,
        step: PolicyStep,
        channel: Any,
        template: str,
        context: dict[str, str],
        partner: Any = None,
        to: Recipient | None = None,
    ) -> ChannelRequest:
        """The request of one channel action, with the creditor's details."""
        context = {
            "creditor_name": self._start.creditor_name,
            "creditor_address": self._start.creditor_address,
            "payment_instructions": self._start.payment_instructions,
            **context,
        }
        if to is None and partner in PARTNERS:
            to = partner_recipient(partner)
        return channel_request(
            self._case,
            self._start.invoice,
            step.key,
            channel,
            template,
            context,
            partner,
            to or recipient(self._start.invoice),
        )

    async def _dispatch(self, request: ChannelRequest) -> tuple[str, str, str]:
        receipt = await workflow.execute_activity_method(
            CHANNEL_ACTIVITIES[request.channel],
            request,
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=RETRY,
        )
        return receipt.reference, request.recipient.name, receipt.summary

    async def _send_email(self, request: EmailRequest) -> tuple[str, str, str]:
        receipt = await workflow.execute_activity_method(
            EmailActivities.send_email,
            request,
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=RETRY,
        )
        detail = receipt.subject
        if receipt.resent:
            detail += " (sent again after an interrupted attempt: same Message-ID, maybe twice)"
        return receipt.message_id, request.to, detail

    async def _conversation_email(
        self, step: PolicyStep, request: EmailRequest, amounts: dict[str, str], total: Decimal
    ) -> ActionRecord | None:
        """Hand the reminder to the debtor's conversation (workflows/debtor_conversation.py),
        which groups it with the debtor's other reminders due meanwhile, and record what it
        sent. None when the case closed or was held before it went out (withdrawn).

        Should the conversation not answer in time, the case sends the email alone: the
        grouped message records each invoice under the invoice's own ledger key, so this
        finds it sent instead of sending twice."""
        contact = ContactRequest(
            case_workflow_id=workflow.info().workflow_id,
            email=request,
            amounts=amounts,
            line_total=total,
            requested_at=workflow.now(),
        )
        outcome = await self._hand_over(step, contact, request.debtor_id)
        if outcome is None:
            if self._contact_moot():
                return None
            return await self._record(
                step.key, step.label, Channel.email, self._send_email(request)
            )
        return self._handed(step, Channel.email, outcome, request.idempotency_key, request.to)

    async def _conversation_letter(
        self, step: PolicyStep, request: ChannelRequest, amounts: dict[str, str], total: Decimal
    ) -> ActionRecord | None:
        """The same for a letter (the statement of account, the formal notice): the
        conversation posts one letter for the debtor's invoices due together, with a
        décompte per invoice and the total. Alone after the wait, the post finds the
        invoice's letter recorded in the grouped one and posts nothing again."""
        contact = ContactRequest(
            case_workflow_id=workflow.info().workflow_id,
            letter=request,
            amounts=amounts,
            line_total=total,
            requested_at=workflow.now(),
        )
        channel = Channel(request.channel)
        outcome = await self._hand_over(step, contact, request.debtor_id)
        if outcome is None:
            if self._contact_moot():
                return None
            return await self._record(step.key, step.label, channel, self._dispatch(request))
        return self._handed(step, channel, outcome, request.idempotency_key, request.recipient.name)

    async def _hand_over(
        self, step: PolicyStep, contact: ContactRequest, debtor_id: str | None
    ) -> ContactOutcome | None:
        """Give ``contact`` to the debtor's conversation (signal-with-start) and wait for
        its answer (None: none came in time)."""
        assert debtor_id is not None
        case = self._case
        start = ConversationStart(
            tenant=case.tenant,
            debtor_id=debtor_id,
            kind=case.debtor_kind,
            contact_policy=contact_policy_for(self._policy.contact_policy),
            activity_timeout_s=self._start.activity_timeout_s,
        )
        self._contact_outcomes.pop(step.key, None)
        conversation = await workflow.execute_activity(
            request_contact,
            args=[start, contact],
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=RETRY,
        )
        return await self._await_contact(step.key, conversation, contact.key)

    def _handed(
        self,
        step: PolicyStep,
        channel: Channel,
        outcome: ContactOutcome,
        key: str,
        recipient: str,
    ) -> ActionRecord | None:
        """What the conversation did, recorded on the case (None: withdrawn)."""
        if outcome.status == "withdrawn":
            return None
        detail = outcome.detail
        if outcome.grouped_with:
            detail += f" (message commun avec {', '.join(outcome.grouped_with)})"
        record = ActionRecord(
            step=step.key,
            label=step.label,
            channel=channel,
            done_at=workflow.now(),
            status="sent" if outcome.status == "sent" else "failed",
            idempotency_key=key,
            reference=outcome.message_id,
            recipient=outcome.recipient or recipient,
            detail=detail,
        )
        self._case.actions.append(record)
        return record

    def _contact_moot(self) -> bool:
        """A reminder no longer to send: the case closed, or something holds it."""
        return self._case.stage is Stage.closed or bool(self._case.holds)

    async def _await_contact(self, step: str, conversation: str, key: str) -> ContactOutcome | None:
        """The conversation's answer for ``step``; withdraws the request if the case
        becomes moot meanwhile; None if no answer comes in time."""
        contact = contact_policy_for(self._policy.contact_policy)
        longest_cap = max(
            (cap.within for rules in contact.rules.values() for cap in rules.caps),
            default=timedelta(0),
        )
        # The window, the caps, a long weekend outside the hours, the send's attempts.
        timeout = (
            contact.grouping_window
            + longest_cap
            + HOURS_SLACK
            + 20 * self._activity_timeout()
            + CONTACT_MARGIN
        )
        deadline = workflow.now() + timeout

        def answered() -> bool:
            return step in self._contact_outcomes

        def stirred() -> bool:
            return answered() or self._contact_moot() or self._changed

        # Before the patch, a write made while request_contact ran was forgotten here (the
        # flag was cleared before the first wait), and stayed unpublished until the answer.
        keeps_writes = workflow.patched(CONTACT_WAIT_PATCH)
        try:
            while True:
                if not keeps_writes:
                    self._changed = False
                await workflow.wait_condition(stirred, timeout=deadline - workflow.now())
                if answered() or self._contact_moot():
                    break
                # A write while the reminder waits (a partial payment, a note): the read
                # model shows it now, not once the conversation has answered.
                self._changed = False
                if self._publish_views:
                    await self._publish()
            if not answered():
                handle = workflow.get_external_workflow_handle(conversation)
                try:
                    await handle.signal("withdraw_contact", key)
                except ApplicationError:
                    return None  # the conversation is gone: nothing will be sent
                left = deadline - workflow.now()
                if left > timedelta(0):
                    await workflow.wait_condition(answered, timeout=left)
        except TimeoutError:
            return None
        return self._contact_outcomes.pop(step, None)

    async def _record(
        self, step: str, label: str, channel: Channel, action: Awaitable[tuple[str, str, str]]
    ) -> ActionRecord:
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
            record.status, record.detail = "failed", failure_detail(err)
        record.done_at = workflow.now()
        self._case.actions.append(record)
        return record

    async def _flush_events(self) -> None:
        """Append the journal's new facts to the case's stream. Ids come from the case and
        the journal's absolute index, so a retried append records nothing twice; the append
        retries until it succeeds, so no fact is ever left out of the stream.

        Cases that publish their view (``case-view-v1``) record the facts and the view in
        one activity, whenever either changed (see ``_publish``)."""
        if self._publish_views:
            await self._publish()
            return
        case = self._case
        if not self._store_events or case.journal_flushed >= case.journal_base + len(case.journal):
            return
        batch = facts.new_events(case, workflow.info().workflow_id)
        flushed = case.journal_base + len(case.journal)
        if batch:
            request = AppendCaseEvents(
                stream_id=case.case_id, expected_version=case.events_appended, events=batch
            )
            appended = await workflow.execute_activity_method(
                EventActivities.append_case_events,
                request,
                start_to_close_timeout=self._activity_timeout(),
                retry_policy=APPEND_RETRY,
            )
            case.events_appended = appended.version
        case.journal_flushed = flushed

    async def _publish(self) -> None:
        """Append the journal's new facts, then publish the case's view to the read model
        (GET /v1/cases serves it without asking this workflow), in one activity. Skipped
        when neither the facts nor the view changed since the last publication; retried
        until it succeeds, like the append alone."""
        case = self._case
        digest = view_digest(case)
        flushed = case.journal_base + len(case.journal)
        if digest == self._published and case.journal_flushed >= flushed:
            return
        batch = facts.new_events(case, workflow.info().workflow_id)
        append = None
        if batch:
            append = AppendCaseEvents(
                stream_id=case.case_id, expected_version=case.events_appended, events=batch
            )
        case.view_revision += 1
        # Only the journal entries the read model does not hold yet travel (it keeps the
        # rest), so a long case's history does not carry its whole journal at each step.
        start = case.journal_base if self._published_to is None else self._published_to
        sent = case.model_copy(
            update={"journal": case.journal[start - case.journal_base :], "journal_base": start}
        )
        recorded = await workflow.execute_activity_method(
            EventActivities.record_case,
            RecordCase(append=append, view=sent, journal_from=start),
            start_to_close_timeout=self._activity_timeout(),
            retry_policy=APPEND_RETRY,
        )
        case.events_appended = recorded.version
        case.journal_flushed = flushed
        # What was published, as the case stood before the activity: if handlers changed
        # the case meanwhile, the digests differ and the next wait publishes again.
        self._published = digest
        self._published_to = flushed

    def _note_action(self, kind: str, action: ActionRecord, fact: Any) -> None:
        """Journal an act that was done (failed acts are in ``actions`` only)."""
        if action.status == "sent":
            detail = f"{action.label} ({action.channel.value}) {action.reference or ''}".strip()
            reducer.journal(self._case, action.done_at, kind, detail, fact=fact)
