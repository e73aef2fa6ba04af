"""The messages a case's workflow answers: its state, payments and events.

Every handler prepares its change on a copy first (workflows/event_preparation.py): an
update's validator refuses, before anything reaches history, what cannot apply; a signal
that cannot apply is journaled as ignored. No handler raises on a caller's data.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.conversation_requests import ContactOutcome
    from schemas.case import CaseView, PaymentIn, Stage
    from schemas.case_events import (
        CaseEventEnvelope,
        RegisteredLetterProblem,
        RegisteredLetterStatus,
    )
    from workflows import case_reducer as reducer
    from workflows.case_base import CaseWorkflowBase
    from workflows.event_preparation import Prepared, prepare_event, prepare_payment


# A provider's report on a registered letter that arrives before the case recorded the
# letter is kept and applied once it is (was: ignored, and never sent again).
EARLY_LETTER_PATCH = "early-letter-reports-v1"


class CaseMessages(CaseWorkflowBase):
    """Query, signal and update handlers of the case workflow."""

    @workflow.query(name="state")
    def state(self) -> CaseView:
        """The live case, as operators see it."""
        return self._case

    @workflow.signal(name="record_payment")
    def record_payment(self, payment: PaymentIn) -> None:
        """Money a channel reports collected: applied up to the balance (the excess is
        journaled), once per reference."""
        try:
            prepared = prepare_payment(self._case, payment, workflow.now(), refuse_excess=False)
        except reducer.EventRejected as rejected:
            self._ignore(str(rejected))
            return
        self._adopt(prepared)

    @workflow.update(name="apply_payment")
    def apply_payment(self, payment: PaymentIn) -> CaseView:
        """A payment that must be accepted or refused (over the balance, closed case)."""
        try:
            prepared = prepare_payment(self._case, payment, workflow.now(), refuse_excess=True)
        except reducer.EventRejected as rejected:
            raise _refused(rejected) from None
        self._adopt(prepared)
        return self._case

    @apply_payment.validator
    def _validate_payment(self, payment: PaymentIn) -> None:
        prepare_payment(self._case, payment, workflow.now(), refuse_excess=True)

    @workflow.signal(name="contact_done")
    def contact_done(self, outcome: ContactOutcome) -> None:
        """The debtor's conversation says what became of a reminder this case handed it."""
        self._contact_outcomes[outcome.step] = outcome

    @workflow.signal(name="record_event")
    def record_event(self, envelope: CaseEventEnvelope) -> None:
        """An event from a channel or partner; one that cannot apply is journaled, not lost."""
        try:
            prepared = self._prepare(envelope)
        except reducer.EventRejected as rejected:
            if self._too_early(envelope):
                self._early_letter_events.append(envelope)
                return
            self._ignore(str(rejected))
            return
        self._adopt(prepared)

    def _too_early(self, envelope: CaseEventEnvelope) -> bool:
        """A report on a registered letter that the case has not recorded yet (a rejection
        can come back before the post's activity completes): kept, not ignored."""
        return (
            isinstance(envelope.event, RegisteredLetterStatus | RegisteredLetterProblem)
            and self._case.formal_notice is None
            and self._case.stage is not Stage.closed
            and workflow.patched(EARLY_LETTER_PATCH)
        )

    def _apply_early_letter_events(self) -> None:
        """Once the notice is recorded, the reports that came before it."""
        early, self._early_letter_events = self._early_letter_events, []
        for envelope in early:
            self.record_event(envelope)

    @workflow.update(name="apply_event")
    def apply_event(self, envelope: CaseEventEnvelope) -> CaseView:
        """An event reported through the API: refused before any change if it cannot apply."""
        try:
            prepared = self._prepare(envelope)
        except reducer.EventRejected as rejected:  # the case moved since validation
            raise _refused(rejected) from None
        self._adopt(prepared)
        return self._case

    @apply_event.validator
    def _validate_event(self, envelope: CaseEventEnvelope) -> None:
        self._prepare(envelope)

    def _prepare(self, envelope: CaseEventEnvelope) -> Prepared:
        with workflow.unsafe.sandbox_unrestricted():  # holidays reads gettext: deterministic
            return prepare_event(
                self._case, envelope.event, self._policy, self._cal, workflow.now()
            )

    def _adopt(self, prepared: Prepared) -> None:
        """Take the prepared state in place: the loop may hold the case object across an
        activity, so the object stays and its fields change."""
        if not prepared.changed:
            return
        for name in CaseView.model_fields:
            setattr(self._case, name, getattr(prepared.case, name))
        self._case.follow_ups.extend(prepared.follow_ups)
        if prepared.policy is not None:
            self._policy = prepared.policy  # carried over continue-as-new through _start
            self._start = self._start.model_copy(update={"policy": prepared.policy})
        self._changed = True

    def _ignore(self, why: str) -> None:
        reducer.journal(self._case, workflow.now(), "EventIgnored", why[:500])


def _refused(rejected: reducer.EventRejected) -> ApplicationError:
    """The update fails (not the workflow) with the field-named reason the API maps."""
    return ApplicationError(str(rejected), type="EventRejected", non_retryable=True)
