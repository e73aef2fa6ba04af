"""The registered-mail tables (migration 0005), as SQLAlchemy Core objects.

Kept identical to services/db/migrations/versions/0005_registered_letters.py (a test compares
them); they belong in services/db/tables.py once that file is free.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

registered_mail_metadata = MetaData()

registered_letters = Table(
    "registered_letters",
    registered_mail_metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("workflow_id", String(200)),
    Column("provider", String(32), nullable=False),
    Column("provider_id", String(100), unique=True),
    Column("provider_recipient_id", String(100)),
    Column("provider_status", String(32)),
    Column("status", String(32), nullable=False),
    Column("status_history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("first_presented_on", Date),
    Column("registered_number", String(64)),
    Column("document_sha256", String(64), nullable=False),
    Column("proofs", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("submitted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""One row per formal notice posted through a provider, keyed like channel_outbox.

``status``: ``pending`` (recorded, not yet confirmed by the provider), ``submitted``, then the
latest delivery status (``presented``, ``delivered``, ``not_collected``, ``refused``,
``wrong_address``) or ``rejected``. ``status_history``: every status with its day, source and
whether the case's workflow was told. ``proofs``: metadata (kind, sha256, size, media type) of
the documents in ``registered_letter_proofs``.
"""

registered_letter_proofs = Table(
    "registered_letter_proofs",
    registered_mail_metadata,
    Column(
        "idempotency_key",
        String(200),
        ForeignKey("registered_letters.idempotency_key", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("source", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("idempotency_key", "kind", name="pk_registered_letter_proofs"),
)
"""The proof documents themselves (deposit proof, acknowledgement of receipt), as served."""

registered_mail_events = Table(
    "registered_mail_events",
    registered_mail_metadata,
    Column("event_id", String(200), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("idempotency_key", String(200), index=True),
    Column("event_type", String(64), nullable=False),
    Column("resource_id", String(100), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Every provider notification processed, by its event id: a replay changes nothing."""
