"""The event-store channel: a case's workflow appends its facts, once each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.event_requests import AppendCaseEvents, AppendedEvents, RecordCase, RecordedCase
from eventstore.errors import ConcurrencyConflict, EventIdConflict, UnknownEventType
from eventstore.store import EventStore
from projections.case_view_store import save_case_view


class EventActivities:
    """Activities writing a case's facts to the event store and its view to the read model."""

    def __init__(self, store: EventStore, engine: AsyncEngine) -> None:
        self._store = store
        self._engine = engine

    def activities(self) -> list[Callable[..., Any]]:
        """What a worker registers: the record (facts and view), and the append alone
        that cases started before the read model still call."""
        return [self.record_case, self.append_case_events]

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

    @activity.defn(name="record_case")
    async def record_case(self, request: RecordCase) -> RecordedCase:
        """Append the facts (as ``append_case_events``), then publish the view. A retry
        appends nothing twice and never puts back an older view than the one stored."""
        view = request.view
        version = view.events_appended
        if request.append is not None and request.append.events:
            version = (await self.append_case_events(request.append)).version
        # As the workflow will hold it once this returns: every entry flushed.
        view = view.model_copy(
            update={"events_appended": version, "journal_flushed": view.position}
        )
        async with self._engine.begin() as conn:
            written = await save_case_view(conn, view, journal_from=request.journal_from)
        return RecordedCase(version=version, view_written=written)
