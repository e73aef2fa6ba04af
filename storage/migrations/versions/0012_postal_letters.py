"""Simple letters posted through a provider (Maileva's mail API), one row per letter.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Identical to storage.tables.postal_letters.
    op.create_table(
        "postal_letters",
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False, index=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200)),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("provider_id", sa.String(100)),
        sa.Column("provider_status", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_history", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("provider", "provider_id", name="uq_postal_letters_provider_id"),
    )


def downgrade() -> None:
    op.drop_table("postal_letters")
