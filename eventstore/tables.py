"""The event store's tables (SQLAlchemy Core); migration 0002 creates them.

Kept in their own MetaData: services/db/tables.py belongs to the rest of the service.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("position", BigInteger, nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    PrimaryKeyConstraint("stream_id", "version", name="pk_events"),
    UniqueConstraint("position", name="uq_events_position"),
    UniqueConstraint("event_id", name="uq_events_event_id"),
)
"""Append-only: the database refuses UPDATE, DELETE and TRUNCATE (trigger events_append_only)."""

event_positions = Table(
    "event_positions",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("last_position", BigInteger, nullable=False),
)
"""One row: the last global position handed out. Updating it serialises appends."""
