"""Cases handed to partners (agency, commissaires de justice) and the reports they send back.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EMPTY_LIST = sa.text("'[]'::jsonb")


def upgrade() -> None:
    # Identical to activities.partners.tables.
    op.create_table(
        "partner_handoffs",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200)),
        sa.Column("partner_kind", sa.String(32), nullable=False),
        sa.Column("partner_reference", sa.String(64)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_history", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("package", JSONB, nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint(
            "partner_kind", "partner_reference", name="uq_partner_handoffs_reference"
        ),
    )
    op.create_table(
        "partner_events",
        sa.Column("partner_kind", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("partner_reference", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("partner_kind", "event_id", name="pk_partner_events"),
    )


def downgrade() -> None:
    op.drop_table("partner_events")
    op.drop_table("partner_handoffs")
