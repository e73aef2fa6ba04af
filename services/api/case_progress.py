"""How far a case's facts and actions have got: its stream's completeness and the outside
actions Temporal is still retrying for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.service import RPCError

from schemas.case import CaseView


class PendingAction(BaseModel):
    """An outside action under way: retried until it succeeds, with its last error."""

    activity: str
    attempt: int
    last_failure: str | None = None


class StreamStatus(BaseModel):
    """Whether every fact the case journaled is in its hash-chained stream."""

    facts_journaled: int
    events_appended: int
    complete: bool

    @classmethod
    def of(cls, case: CaseView) -> StreamStatus:
        return cls(
            facts_journaled=case.facts_journaled,
            events_appended=case.events_appended,
            complete=case.events_appended == case.facts_journaled,
        )


async def case_pending_actions(handle: Any, rpc_timeout: timedelta) -> list[PendingAction]:
    """Pending activities with their attempt and last failure; empty when Temporal cannot
    describe the workflow right now (the case itself was read: this is extra detail)."""
    try:
        described = await handle.describe(rpc_timeout=rpc_timeout)
    except (RPCError, RuntimeError, TimeoutError):
        return []
    pending = []
    for activity in described.raw_description.pending_activities:
        failure = activity.last_failure.message if activity.HasField("last_failure") else None
        pending.append(
            PendingAction(
                activity=activity.activity_type.name,
                attempt=activity.attempt,
                last_failure=failure or None,
            )
        )
    return pending
