"""What can go wrong when writing or reading the event store."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.exc import OperationalError


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


class StoreTimeout(EventStoreError, OperationalError):
    """A lock or a statement took longer than the store waits; nothing was written.

    Retryable: the same call later (the append activity retries without limit). Raised for
    PostgreSQL's lock_timeout, statement_timeout and deadlock_detected, and when the
    driver gave up on a statement. Also an OperationalError, what callers already treat as
    "the database is not answering now, retry" (the API answers 503, the projector backs
    off).
    """

    def __init__(self, operation: str, reason: str) -> None:
        message = f"{operation}: {reason}; nothing was written, retry"
        OperationalError.__init__(self, message, None, TimeoutError(message))
        self.args = (message,)
        self.message = message
        self.operation = operation
        self.reason = reason

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[StoreTimeout], tuple[str, str]]:
        return type(self), (self.operation, self.reason)


class TransactionTooOld(EventStoreError):
    """The stream's last event was written by a transaction younger than this one.

    Appending would put the new event before it in the global order (tx_id, position); a
    new transaction gets a younger id. The store's own appends never hit this (each is a
    single statement, whose id is taken after it read the head); an append inside a
    caller's transaction that took its id earlier can.
    """

    def __init__(self, stream_id: str, head_tx_id: int) -> None:
        super().__init__(
            f"stream {stream_id}: its last event is from transaction {head_tx_id}, younger"
            " than the appending one; retry in a new transaction"
        )
        self.stream_id = stream_id
        self.head_tx_id = head_tx_id
