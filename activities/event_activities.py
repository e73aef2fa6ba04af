"""The event-store channel: a case's workflow appends its facts, once each."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.event_requests import AppendCaseEvents, AppendedEvents
from eventstore.errors import ConcurrencyConflict, EventIdConflict, UnknownEventType
from eventstore.store import EventStore


class EventActivities:
    """Activities writing to the event store, given the store in the constructor."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="append_case_events")
    async def append_case_events(self, request: AppendCaseEvents) -> AppendedEvents:
        """Append the batch. A retry after a crash appends nothing twice: the store answers
        a known event id with the stored record before any version check."""
        try:
            recorded = await self._store.append(
                request.stream_id, request.events, request.expected_version
            )
        except (ConcurrencyConflict, EventIdConflict, UnknownEventType) as err:
            # A bug, not a passing fault: it stays retryable on purpose, so the case waits,
            # visibly (its pending activity names the error), instead of dropping facts.
            activity.logger.error("append to %s refused: %s", request.stream_id, err)
            raise ApplicationError(str(err), type=type(err).__name__) from err
        last = recorded[-1]
        return AppendedEvents(
            version=last.version, last_position=last.position, head_hash=last.content_hash
        )
