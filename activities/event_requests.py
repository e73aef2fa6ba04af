"""What the workflow asks of the event store, and what it gets back."""

from __future__ import annotations

from pydantic import BaseModel

from eventstore.records import NewEvent


class AppendCaseEvents(BaseModel):
    """Facts for one case's stream; ids are derived from (case, journal index) by the workflow."""

    stream_id: str
    expected_version: int
    events: list[NewEvent]


class AppendedEvents(BaseModel):
    version: int
    last_position: int
    head_hash: str
