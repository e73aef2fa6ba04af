"""What goes into the store (NewEvent), what it holds (StoredEvent), what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from eventstore.events.base import DomainEvent


class LogPosition(NamedTuple):
    """Where an event sits in the global order: (writing transaction's id, position).

    Tuples compare field by field, which is the order of the log. Readers keep one as their
    checkpoint; ``ORIGIN`` is before every event (events older than migration 0008 have
    tx_id 0 and positions from 1).
    """

    tx_id: int
    position: int


ORIGIN = LogPosition(0, 0)


class EventMetadata(BaseModel):
    """Who and what caused an event; hashed with it, so it cannot be re-attributed later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=64)
    actor: str = Field(
        min_length=1, max_length=200, description='"system" or the API principal that acted'
    )
    causation_id: str | None = Field(default=None, description="Event or command that caused it")
    correlation_id: str | None = Field(default=None, description="Shared by one business flow")
    workflow_id: str | None = None
    run_id: str | None = None


class NewEvent(BaseModel):
    """An event to append, already serialised: safe to pass from a workflow to an activity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    data: dict[str, Any]
    metadata: EventMetadata

    @classmethod
    def of(cls, event: DomainEvent, *, event_id: UUID, metadata: EventMetadata) -> NewEvent:
        """Wrap a typed event (see ``eventstore.ids.event_id_for`` for a stable id)."""
        return cls(
            event_id=event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=event.model_dump(mode="json"),
            metadata=metadata,
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of ``events`` exactly as stored: the input of hashing and verification."""

    position: int
    stream_id: str
    version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    content_hash: str
    prev_hash: str
    tx_id: int = 0
    """The writing transaction's id (xid8); not hashed: it belongs to the cluster, not the fact."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event as readers use it: typed, upcast to the current schema version."""

    position: int
    """Unique and rising within a stream; across streams, with gaps: see ``log_position``."""
    stream_id: str
    version: int
    event_id: UUID
    event: DomainEvent
    stored_schema_version: int
    """The version the row was written with (``event`` is always the current one)."""
    metadata: EventMetadata
    recorded_at: datetime
    content_hash: str
    prev_hash: str
    tx_id: int = 0
    """The writing transaction's id: with ``position``, the event's place in the global order."""

    @property
    def log_position(self) -> LogPosition:
        """The event's place in the global order: where a reader that applied it resumes."""
        return LogPosition(self.tx_id, self.position)
