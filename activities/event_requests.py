"""What the workflow asks of the event store, and what it gets back."""

from __future__ import annotations

from pydantic import BaseModel

from eventstore.records import NewEvent
from schemas.case import CaseView


class AppendCaseEvents(BaseModel):
    """Facts for one case's stream; ids are derived from (case, journal index) by the workflow."""

    stream_id: str
    expected_version: int
    events: list[NewEvent]


class AppendedEvents(BaseModel):
    version: int
    last_position: int
    head_hash: str


class RecordCase(BaseModel):
    """A case's new facts (possibly none) and its view after them, published together:
    the facts go to the case's stream first, then the view to the read model."""

    append: AppendCaseEvents | None = None
    view: CaseView
    journal_from: int | None = None
    """Set when ``view.journal`` holds only the entries from this journal position on:
    the read model keeps the ones before it. None: the whole journal."""


class RecordedCase(BaseModel):
    version: int
    """The stream's version after the append (the view's ``events_appended``)."""
    view_written: bool
    """False when a newer revision of the view was already stored (a late retry)."""
