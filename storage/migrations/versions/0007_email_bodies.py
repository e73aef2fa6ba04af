"""Keep a copy of every email sent, not only its hash (the step's evidence).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("body", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "body")
