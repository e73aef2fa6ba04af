"""The laid-out letter beside each channel document's text body (activities/letter_layout).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Identical to storage.tables.channel_outbox.c.layout.
    op.add_column("channel_outbox", sa.Column("layout", sa.Text()))


def downgrade() -> None:
    op.drop_column("channel_outbox", "layout")
