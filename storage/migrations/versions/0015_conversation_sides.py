"""The other sides of the conversation: ERP webhooks, the debtor portal, online payments
and the insolvency watch.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(16, 2)


def _created() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    # Identical to the tables of the same names in storage.tables.
    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.String(40), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("event_types", JSONB, nullable=False),
        sa.Column("description", sa.Text),
        _created(),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("source_event_id", sa.Uuid, nullable=False),
        sa.Column("source_position", sa.BigInteger, nullable=False),
        _created(),
        sa.Index("ix_webhook_events_case", "case_id", "source_position"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        _created(),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_queue", "subscription_id", "case_id", "delivery_id"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.BigInteger, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("manual", sa.String(100)),
        sa.PrimaryKeyConstraint("delivery_id", "attempt", name="pk_webhook_attempts"),
    )
    op.create_table(
        "portal_requests",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _created(),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decision_note", sa.Text),
        sa.Index("ix_portal_requests_open", "tenant", "status", "created_at"),
    )
    op.create_table(
        "online_payments",
        sa.Column("payment_id", sa.String(40), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(255)),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("allocation", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _created(),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("provider_event_id", sa.String(255)),
    )
    op.create_table(
        "provider_events",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_provider_events"),
    )
    op.create_table(
        "insolvency_publications",
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("debtor_id", sa.String(40), nullable=False),
        sa.Column("publication_id", sa.String(100), nullable=False),
        sa.Column("published_on", sa.Date, nullable=False),
        sa.Column("proceeding", sa.String(32), nullable=False),
        sa.Column("court", sa.Text, nullable=False),
        sa.Column("mandataire", sa.Text, nullable=False),
        sa.Column("cases", JSONB, nullable=False),
        sa.Column(
            "found_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant", "debtor_id", "publication_id", name="pk_insolvency_pubs"),
    )


def downgrade() -> None:
    for table in (
        "insolvency_publications",
        "provider_events",
        "online_payments",
        "portal_requests",
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_events",
        "webhook_subscriptions",
    ):
        op.drop_table(table)
