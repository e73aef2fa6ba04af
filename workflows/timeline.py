"""When each policy step is due: pure functions shared by the workflow and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from schemas.policy import Policy, PolicyStep


def planned_at(
    step: PolicyStep,
    policy: Policy,
    due_date: date,
    opened_at: datetime,
    last_action_at: datetime | None,
) -> datetime:
    """The moment a step should run.

    Dated steps (anchor ``due_date``) run at the policy's hour on the day
    ``due_date + offset``; demo steps run ``offset`` after the case opened.
    A step never runs sooner than ``policy.min_gap`` after the previous action,
    so an invoice registered late does not get two reminders at once.
    """
    if step.anchor == "due_date":
        base = datetime.combine(due_date, time(policy.send_hour_utc), tzinfo=UTC) + step.offset
    else:
        base = opened_at + step.offset
    if last_action_at is not None:
        base = max(base, last_action_at + policy.min_gap)
    return base
