"""What a case waits for next, and why: a pure function of its state and policy."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from legal import DebtorCalendar, deadline_in_days, first_day_after
from schemas.case import CaseView, Hold, HoldKind
from schemas.policy import Policy, PolicyStep

WakeKind = Literal[
    "step", "promise_expiry", "instalment_check", "prescription_alert", "prescription_expiry"
]


@dataclass(frozen=True)
class Wake:
    """The next thing to do at ``at`` (None: nothing is timed, wait for an event)."""

    kind: WakeKind | None
    at: datetime | None
    why: str
    step: PolicyStep | None = None
    alert_day: date | None = None


def at_hour(day: date, policy: Policy) -> datetime:
    return datetime.combine(day, time(policy.send_hour_utc), tzinfo=UTC)


def _whole_days(delta: timedelta) -> bool:
    return delta.seconds == 0 and delta.microseconds == 0


def step_time(
    step: PolicyStep, case: CaseView, policy: Policy, cal: DebtorCalendar | None
) -> datetime | None:
    """When ``step`` should run; None while its anchor event has not happened.

    Dated steps move to the debtor's next working day (``cal``; None keeps the raw
    date, as cases started before the legal calendar did). Never sooner than
    ``policy.min_gap`` after the previous action.
    """
    if step.anchor == "due_date":
        if _whole_days(step.offset):
            day = case.due_date + step.offset
            if cal is not None:
                day = cal.first_working_day_from(day)
            when = at_hour(day, policy)
        else:
            when = at_hour(case.due_date, policy) + step.offset
    elif step.anchor == "case_start":
        when = case.opened_at + step.offset
    else:
        notice = case.formal_notice
        if notice is None or notice.escalate_from is None:
            return None
        when = notice.escalate_from + step.offset
    if case.actions:
        when = max(when, case.actions[-1].done_at + policy.min_gap)
    return when


def escalate_from(
    first_presented_on: date, policy: Policy, cal: DebtorCalendar, now: datetime
) -> tuple[date | None, datetime]:
    """The formal notice's last day and the moment escalation may start.

    Whole days: a CPC 641-642 deadline from first presentation, then the first
    working day after it (the debtor's deadline: act only after its extended end).
    Shorter (demo policies): raw time from now.
    """
    if not _whole_days(policy.formal_notice_deadline):
        return None, now + policy.formal_notice_deadline
    deadline = deadline_in_days(first_presented_on, policy.formal_notice_deadline.days, cal)
    return deadline.last_day, at_hour(first_day_after(deadline, cal), policy)


def next_wake(
    case: CaseView, policy: Policy, cal: DebtorCalendar | None, *, timed_law: bool
) -> Wake:
    """The earliest of: the next policy step (unless a hold suspends the timeline), a
    promise's end, an instalment's check, and (``timed_law``) prescription alerts/expiry."""
    candidates: list[Wake] = []
    for hold in case.holds:
        if hold.kind is HoldKind.promise and hold.until is not None:
            candidates.append(
                Wake(
                    "promise_expiry",
                    at_hour(hold.until + timedelta(days=1), policy),
                    f"promise to pay: checked after {hold.until} (promised date + grace)",
                )
            )
    plan = case.plan
    if plan is not None and plan.checked < len(plan.instalments):
        due_on, amount = plan.instalments[plan.checked]
        check_day = due_on + policy.instalment_grace + timedelta(days=1)
        candidates.append(
            Wake(
                "instalment_check",
                at_hour(check_day, policy),
                f"instalment {plan.checked + 1} of {amount} due {due_on}",
            )
        )
    if timed_law and case.prescription_last_day is not None:
        last_day = case.prescription_last_day
        for alert in (last_day - timedelta(days=90), last_day - timedelta(days=30)):
            if alert not in case.prescription_alerts_sent:
                candidates.append(
                    Wake(
                        "prescription_alert",
                        at_hour(alert, policy),
                        f"prescription alert: last day to act {last_day}",
                        alert_day=alert,
                    )
                )
                break
        candidates.append(
            Wake(
                "prescription_expiry",
                datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC),
                f"prescribed after {last_day}",
            )
        )
    step_wake = _step_wake(case, policy, cal)
    if step_wake is not None:
        candidates.append(step_wake)
    timed = [c for c in candidates if c.at is not None]
    if not timed:
        return Wake(None, None, _idle_reason(case, policy))
    soonest = min(timed, key=lambda c: c.at or datetime.max.replace(tzinfo=UTC))
    if case.holds and soonest.kind != "promise_expiry":
        return replace(soonest, why=f"{_suspension(case)}; next: {soonest.why}")
    return soonest


def _step_wake(case: CaseView, policy: Policy, cal: DebtorCalendar | None) -> Wake | None:
    if case.holds or case.steps_done >= len(policy.steps):
        return None
    step = policy.steps[case.steps_done]
    when = step_time(step, case, policy, cal)
    if when is None:
        return None
    return Wake("step", when, f"{step.label}: policy {policy.id} v{policy.version}", step=step)


def _suspension(case: CaseView) -> str:
    return "timeline suspended: " + "; ".join(_held(h) for h in case.holds)


def _held(hold: Hold) -> str:
    """One hold as ``why`` says it; a step awaiting approval reads "awaiting approval of
    <label>" (its reason), the others "<kind> (<reason>)"."""
    if hold.kind is HoldKind.approval:
        return hold.reason
    return f"{hold.kind.value} ({hold.reason})"


def _idle_reason(case: CaseView, policy: Policy) -> str:
    if case.holds:
        return _suspension(case)
    if case.steps_done < len(policy.steps):
        notice = case.formal_notice
        if notice is not None and notice.first_presented_on is None:
            return "waiting for the registered letter's first presentation"
        return "waiting for the next step's anchor event"
    return "policy steps done: waiting for payment or a partner's report"
