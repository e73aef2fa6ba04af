"""Registered letters posted through a provider, their proofs, and the provider's notifications.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EMPTY_LIST = sa.text("'[]'::jsonb")


def upgrade() -> None:
    # Identical to activities.registered_mail.tables.
    op.create_table(
        "registered_letters",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200)),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_id", sa.String(100), unique=True),
        sa.Column("provider_recipient_id", sa.String(100)),
        sa.Column("provider_status", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_history", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("first_presented_on", sa.Date),
        sa.Column("registered_number", sa.String(64)),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("proofs", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "registered_letter_proofs",
        sa.Column(
            "idempotency_key",
            sa.String(200),
            sa.ForeignKey("registered_letters.idempotency_key", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column(
            "fetched_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("idempotency_key", "kind", name="pk_registered_letter_proofs"),
    )
    op.create_table(
        "registered_mail_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(200), index=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(100), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("registered_mail_events")
    op.drop_table("registered_letter_proofs")
    op.drop_table("registered_letters")
