"""Helpers for time-skipped case tests: dates relative to the test server's clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from eventstore.store import EventStore
from legal import calendar_for_postal_code
from schemas.case import CaseView
from schemas.case_events import ApprovalDecision, CaseEventEnvelope

PARIS = calendar_for_postal_code("75002")
MINUTE = timedelta(minutes=1)
APPROVER = "operator:0a1b2c3d@test"
"""The actor the API would record for an operator's key (tests sign decisions with it)."""


async def today(env: WorkflowEnvironment) -> date:
    return (await env.get_current_time()).astimezone(UTC).date()


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    """Skip time to ``moment`` (the test server fires every timer on the way)."""
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def at_8(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def working(day: date) -> date:
    """The day a step planned on ``day`` runs (next working day in Paris)."""
    return PARIS.first_working_day_from(day)


async def send(handle: WorkflowHandle[Any, CaseView], event: Any) -> None:
    """Report an event as the channels do (signal; the time-skipping server has no updates)."""
    await handle.signal("record_event", CaseEventEnvelope(event=event))


def sent_on(case: CaseView) -> dict[str, date]:
    """step -> the date it was done (first action of the step)."""
    done: dict[str, date] = {}
    for action in case.actions:
        done.setdefault(action.step, action.done_at.date())
    return done


def journal_types(case: CaseView) -> list[str]:
    return [entry.type for entry in case.journal]


async def state(handle: WorkflowHandle[Any, CaseView]) -> CaseView:
    result: CaseView = await handle.query("state", result_type=CaseView)
    return result


def days(n: int) -> timedelta:
    return timedelta(days=n)


async def stored_types(engine: AsyncEngine, case: CaseView) -> list[str]:
    """The case's event stream as stored, after checking its hash chain and completeness."""
    store = EventStore(engine)
    stream = await store.read_stream(case.case_id)
    assert (await store.verify_stream(case.case_id)).ok
    assert "EventStoreFailed" not in journal_types(case)
    assert len(stream) == case.events_appended
    return [e.event.event_type for e in stream]


async def asked(handle: WorkflowHandle[Any, CaseView], step: str) -> CaseView:
    """The case once it asks for ``step``'s approval. Polled in real time, with the test
    server's clock locked: the workflow task that asks may still be running, and a decision
    sent before it would be refused (journaled as ignored)."""
    for _ in range(200):
        case = await state(handle)
        if step in case.pending_approvals:
            return case
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step} never asked for approval: {case.holds}, {case.next_action}")


async def approve(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, CaseView],
    step: str,
    at: datetime,
    reason: str | None = None,
) -> CaseView:
    """Let time run to ``at`` (just after ``step`` came due), wait until the case asks for
    the step's approval, and approve it as an operator would: the step runs at once.
    Returns the case as it waited."""
    await sleep_until(env, at)
    waiting = await asked(handle, step)
    await send(handle, ApprovalDecision(step=step, decision="approve", reason=reason, by=APPROVER))
    return waiting
