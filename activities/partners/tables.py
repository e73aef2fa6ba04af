"""The partner tables (migration 0006), as SQLAlchemy Core objects.

Kept identical to services/db/migrations/versions/0006_partner_handoffs.py (a test compares
them with the migrated database); they belong in services/db/tables.py once that file is free.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

partner_metadata = MetaData()

partner_handoffs = Table(
    "partner_handoffs",
    partner_metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("tenant", String(64), nullable=False),
    Column("step", String(64), nullable=False),
    Column("workflow_id", String(200)),
    Column("partner_kind", String(32), nullable=False),
    Column("partner_reference", String(64)),
    Column("status", String(32), nullable=False),
    Column("status_history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("package", JSONB, nullable=False),
    Column("package_sha256", String(64), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("partner_kind", "partner_reference", name="uq_partner_handoffs_reference"),
)
"""One row per case handed to a partner, keyed like ``channel_outbox`` (the hand-off's key).

``status``: ``pending`` (recorded, the partner has not confirmed), ``submitted`` (the partner
returned its reference), then the partner's latest reported status (``accepted``,
``in_progress``, ``amount_collected``, ``title_obtained``, ``enforcement_measure``,
``closed``). ``status_history``: every status with when, where from and the partner's event id.
``package``: the exact JSON sent (re-sent unchanged on a retry); ``package_sha256`` its digest.
"""

partner_events = Table(
    "partner_events",
    partner_metadata,
    Column("partner_kind", String(32), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("partner_reference", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("handled_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("partner_kind", "event_id", name="pk_partner_events"),
)
"""Every partner report received, by the partner's event id: a replay changes nothing.

``outcome``: ``pending`` (recorded, the case's workflow not yet told), ``signalled``, or
``case_not_running`` (the workflow had already finished, e.g. the case was paid).
"""
