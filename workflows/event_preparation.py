"""Prepare what a message does to a case on a copy, so nothing a caller sends can break it.

An update's validator and its handler both call these functions: the validator to refuse,
before anything reaches history, any input whose domain events cannot be built (a
pydantic refusal inside a handler would fail the workflow task for ever); the handler and
the signal handlers to apply the prepared state. Pure: same case, same message, same time,
same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from legal import DebtorCalendar
from schemas.case import CaseView, PaymentIn
from schemas.case_events import CaseEvent, MigratePolicy
from schemas.policy import Policy
from workflows import case_reducer as reducer
from workflows.claim import debtor_calendar
from workflows.payment_rules import PaymentRejected, check_payment
from workflows.planner import escalate_from


@dataclass
class Prepared:
    """The case as the message leaves it, and the actions it asks the timeline to run."""

    case: CaseView
    follow_ups: list[str] = field(default_factory=list)
    policy: Policy | None = None
    """The policy the case moves to (a migration), else None."""
    changed: bool = True


def _refusal(err: Exception) -> reducer.EventRejected:
    """A domain refusal naming its field, from whatever the domain raised."""
    if isinstance(err, reducer.EventRejected):
        return err
    if isinstance(err, PaymentRejected):
        return reducer.EventRejected(err.field, err.message)
    if isinstance(err, ValidationError) and err.errors():
        first = err.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        return reducer.EventRejected(where, str(first.get("msg", "invalid")))
    return reducer.EventRejected("body", f"cannot apply: {err}")


def prepare_event(
    case: CaseView, event: CaseEvent, policy: Policy, cal: DebtorCalendar | None, now: datetime
) -> Prepared:
    """The event applied to a copy of ``case``; raise EventRejected if it cannot apply.

    A report its sender already delivered (same sender id) is prepared as "no change"."""
    reducer.check_event(case, event)
    if reducer.message_seen(case, reducer.sender_id(event)):
        return Prepared(case, changed=False)
    draft = case.model_copy(deep=True)
    try:
        follow_ups = reducer.apply_event(draft, event, policy, now)
        _after_presentation(draft, policy, cal, now)
    except Exception as err:  # the copy is dropped: the case did not change
        raise _refusal(err) from err
    migrated = event.policy if isinstance(event, MigratePolicy) else None
    return Prepared(draft, follow_ups, migrated)


def prepare_payment(
    case: CaseView, payment: PaymentIn, now: datetime, *, refuse_excess: bool
) -> Prepared:
    """The payment applied to a copy; raise EventRejected if the case refuses it.

    ``refuse_excess``: an ERP's payment over the balance is refused (it asked); money a
    channel reports collected is applied up to the balance and the excess journaled."""
    try:
        if refuse_excess:
            check_payment(case, payment)
        draft = case.model_copy(deep=True)
        changed = reducer.apply_payment(draft, payment, now)
    except Exception as err:
        raise _refusal(err) from err
    return Prepared(draft if changed else case, changed=changed)


def _after_presentation(
    case: CaseView, policy: Policy, cal: DebtorCalendar | None, now: datetime
) -> None:
    """Once the formal notice was first presented, its deadline and escalation date."""
    notice = case.formal_notice
    if notice is None or notice.first_presented_on is None or notice.escalate_from is not None:
        return
    calendar = cal if cal is not None else debtor_calendar(case)
    notice.deadline, notice.escalate_from = escalate_from(
        notice.first_presented_on, policy, calendar, now
    )
