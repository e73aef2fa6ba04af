"""What can go wrong when writing or reading the event store."""

from __future__ import annotations

from uuid import UUID


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


class ConcurrencyConflict(EventStoreError):
    """The stream moved on since the writer last read it: re-read, decide again, retry."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None) -> None:
        where = "moved on" if actual_version is None else f"is at version {actual_version}"
        super().__init__(f"stream {stream_id}: expected version {expected_version}, but it {where}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class EventIdConflict(EventStoreError):
    """An event id is already stored with other content (or in another stream, or batch)."""

    def __init__(self, event_id: UUID, reason: str) -> None:
        super().__init__(f"event {event_id}: {reason}")
        self.event_id = event_id


class UnknownEventType(EventStoreError):
    """No class is registered under this stable type name."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"no event class is registered as {event_type!r}")
        self.event_type = event_type


class UnsupportedSchemaVersion(EventStoreError):
    """Data of a schema version this code cannot bring to the current one."""

    def __init__(self, event_type: str, schema_version: int, reason: str) -> None:
        super().__init__(f"{event_type} v{schema_version}: {reason}")
        self.event_type = event_type
        self.schema_version = schema_version
