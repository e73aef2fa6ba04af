"""One durable workflow per unpaid invoice: the loop that walks its legal timeline.

The message handlers are in workflows/case_messages.py, the step executors in
workflows/case_steps.py, the activity calls and the event-store flush in
workflows/case_activities.py; this module plans, waits, acts and continues as new.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.case import CaseStart, CaseView, Outcome, PlannedAction, Stage
    from workflows import case_reducer as reducer
    from workflows import facts
    from workflows.case_messages import CaseMessages
    from workflows.case_steps import RECEIPT_PATCH, CaseSteps
    from workflows.claim import QUADRIENNALE, debtor_calendar, prescription_last_day
    from workflows.planner import Wake, next_wake

# Cases started before this change keep their behaviour on replay (no prescription timers,
# no working-day shift); new cases record the marker and follow the legal clock.
LEGAL_TIMELINE_PATCH = "legal-timeline-v2"
# Cases started before the event store keep no stream; new ones append every fact.
EVENT_STORE_PATCH = "event-store-v1"
# Cases started before the read model never publish their view (GET /v1/cases asks them
# live); new ones publish it with their facts, and before each wait when it changed.
CASE_VIEW_PATCH = "case-view-v1"
# A public debtor's claim prescribes by the quadriennale (loi 68-1250), restarted by each
# registered formal notice and posted letter; only public cases reach the marker.
QUADRIENNALE_PATCH = "public-quadriennale-v1"
# A court claim suspends prescription until its proceeding ends (C. civ. 2242) and a title's
# 10 years replace it (CPCE L111-4): the case records the flag at its start.
AFTER_TITLE_PATCH = "after-title-v1"
KEEP_FLUSHED_ENTRIES = 10
"""Journal entries already in the event store that continue-as-new still carries."""


@workflow.defn(name="CollectionCase")
class CollectionCaseWorkflow(CaseMessages, CaseSteps):
    """Walks the policy's steps on durable timers; events pause, branch or close it."""

    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        self._start = start
        self._policy = start.policy
        self._case = start.carried or CaseView.opened(start)
        self._changed = False
        self._timed_law = False
        self._store_events = False
        self._publish_views = False
        self._published = None
        self._published_to = None
        self._cal = None
        self._contact_outcomes = {}
        self._early_letter_events = []

    @workflow.run
    async def run(self, start: CaseStart) -> CaseView:
        self._timed_law = workflow.patched(LEGAL_TIMELINE_PATCH)
        self._store_events = workflow.patched(EVENT_STORE_PATCH)
        self._publish_views = self._store_events and workflow.patched(CASE_VIEW_PATCH)
        if self._store_events and not self._case.journal and self._case.journal_base == 0:
            reducer.journal(
                self._case, self._case.opened_at, "InvoiceRegistered",
                f"{start.invoice.invoice_number}: {start.invoice.amount_due} due "
                f"{start.invoice.due_date}, policy {self._policy.id} v{self._policy.version}"
                + (f", chosen for its {start.policy_chosen_by}" if start.policy_chosen_by else ""),
                fact=facts.invoice_registered(start),
            )  # fmt: skip
        if self._timed_law:
            self._cal = debtor_calendar(self._case)
            if self._case.prescription_last_day is None:
                self._case.prescription_last_day = prescription_last_day(self._case)
            if not self._case.after_title_rules and workflow.patched(AFTER_TITLE_PATCH):
                self._case.after_title_rules = True
            if (
                self._case.debtor_kind == "public"
                and self._case.prescription_rule is None
                and workflow.patched(QUADRIENNALE_PATCH)
            ):
                self._case.prescription_rule = QUADRIENNALE
                self._case.prescription_last_day = prescription_last_day(self._case)
        while self._case.stage is not Stage.closed:
            self._plan_next()  # before any await: a query must never see a stale plan
            await self._flush_events()
            await self._run_follow_ups()
            if self._closed():
                break
            if self._should_continue_as_new():
                await self._continue_as_new()
            wake = self._plan_next()
            if self._publish_views:
                self._changed = False
                await self._publish()  # the view as it waits (handlers may run meanwhile)
                if self._changed:
                    continue
            timeout = None if wake.at is None else wake.at - workflow.now()
            if not await self._wait_for_change(timeout):
                await self._act(wake)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._case.outcome is Outcome.paid and workflow.patched(RECEIPT_PATCH):
            await self._send_receipt()
        await self._flush_events()
        return self._case

    def _closed(self) -> bool:
        # A method, not an inline check: handlers change the stage while the loop awaits.
        return self._case.stage is Stage.closed

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
        """Sleep until something happens to the case or continue-as-new is due (True), or
        the timeout passes (False)."""
        if at_most is not None and at_most <= timedelta(0):
            return False
        self._changed = False
        try:
            await workflow.wait_condition(
                lambda: self._changed or self._should_continue_as_new(), timeout=at_most
            )
        except TimeoutError:
            return False
        return True

    # ---- continue-as-new --------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        limit = self._start.continue_as_new_after
        if limit is not None and info.get_current_history_length() >= limit:
            return True
        return info.is_continue_as_new_suggested()

    async def _continue_as_new(self) -> None:
        """Carry the whole case in one record, less the journal entries the event store
        already holds (all but the last few), so history stays bounded over years."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush_events()
        case = self._case
        keep_from = max(0, case.journal_flushed - case.journal_base - KEEP_FLUSHED_ENTRIES)
        if self._store_events and keep_from > 0:
            dropped = case.journal[:keep_from]
            case.facts_trimmed += sum(1 for entry in dropped if entry.fact is not None)
            case.journal = case.journal[keep_from:]
            case.journal_base += keep_from
        workflow.continue_as_new(self._start.model_copy(update={"carried": case}))
