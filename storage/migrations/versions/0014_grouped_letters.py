"""A letter recorded for an invoice that went out in a debtor's grouped letter points to it.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Identical to storage.tables.channel_outbox.c.grouped_in.
    op.add_column("channel_outbox", sa.Column("grouped_in", sa.String(200)))
    op.create_index("ix_channel_outbox_grouped_in", "channel_outbox", ["grouped_in"])


def downgrade() -> None:
    op.drop_index("ix_channel_outbox_grouped_in", table_name="channel_outbox")
    op.drop_column("channel_outbox", "grouped_in")
